"""The bundled demo platform as Assay's tests use it: its folders, what Assay keeps to test it
(``include/demo_platform/assay``), its target as ``include/config/assay.yaml`` configures it, and its
set-up scripts (files run by path, not a package: that folder must never shadow the ``assay`` package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "include" / "demo_platform"
DEMO_ASSAY_DIR = DEMO_DIR / "assay"
SUITES_DIR = DEMO_ASSAY_DIR / "data_quality" / "suites"
GOLDEN_DIR = DEMO_ASSAY_DIR / "data_quality" / "golden"
EXPERIMENTS_DIR = DEMO_ASSAY_DIR / "chaos" / "experiments"
PERFORMANCE_DIR = DEMO_ASSAY_DIR / "performance"
LOCUSTFILE = PERFORMANCE_DIR / "locustfile_inference.py"
DEMO_TARGET = "demo-platform"


def demo_on_sys_path() -> None:
    """Make the demo's own packages (``fraud``, ``serving``) importable."""
    if str(DEMO_DIR) not in sys.path:
        sys.path.insert(0, str(DEMO_DIR))


def demo_script(name: str) -> ModuleType:
    """A set-up script of ``include/demo_platform/assay`` (``demo_repo``, ``demo_assets``), loaded by path."""
    module_name = f"demo_platform_assay_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, DEMO_ASSAY_DIR / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def prepare_demo_repo(dest: str | Path | None = None) -> str:
    return demo_script("demo_repo").prepare_demo_repo(dest)


def prepare_demo_assets(home: Path | None = None, **kwargs) -> dict[str, str]:
    return demo_script("demo_assets").prepare_demo_assets(home, **kwargs)


def demo_target():
    """The demo target as the shipped ``include/config/assay.yaml`` configures it."""
    from assay.config import DEFAULT_CONFIG_PATH, load_config

    return load_config(DEFAULT_CONFIG_PATH).target(DEMO_TARGET)


def demo_performance(host: str = "http://127.0.0.1:8000"):
    """The demo target's configured performance suites (``host`` stands in for its running service)."""
    from assay.config import DEFAULT_CONFIG_PATH, load_config
    from assay.engines.performance.config import PerformanceSuitesConfig

    section = dict(demo_target().performance or {})
    section["load_test"] = dict(section["load_test"], host=host)
    if section["load_test"].get("payloads"):  # as the operator does: the golden folder of data_quality
        golden_dir = load_config(DEFAULT_CONFIG_PATH).data_quality.golden_dir
        section["load_test"]["payloads"] = {"dir": golden_dir} | dict(section["load_test"]["payloads"])
    return PerformanceSuitesConfig.model_validate(section)
