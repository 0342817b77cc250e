"""Reading Assay's own YAML files (compliance catalog, waivers, inventory, security suppressions): one way to
read them and one way to name what is wrong, so every file's error says which file and which key to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from assay.errors import ConfigError

__all__ = ["dotted", "read_yaml"]


def read_yaml(path: str | Path, what: str) -> Any:
    """The parsed content of the YAML file ``path`` (``what`` names the file in errors: "waiver file").

    A file that cannot be read or is not YAML is a :class:`ConfigError` naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from None


def dotted(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as a dotted path (``waivers[2].expires``)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "<top level>"
