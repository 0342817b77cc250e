"""assay.lazy: a package's exported names import their module on first use, not with the package."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture
def package(tmp_path, monkeypatch):
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from assay.lazy import lazy_exports\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'lazypkg.heavy': ('run', 'LIMIT'), 'lazypkg.light': ('X',)})\n"
    )
    (pkg / "heavy.py").write_text("LIMIT = 3\n\ndef run():\n    return 'ran'\n")
    (pkg / "light.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazypkg"
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]


def test_a_name_imports_its_module_on_first_use_only(package):
    import lazypkg.light  # noqa: F401 - importing a submodule does not import the others

    assert "lazypkg.heavy" not in sys.modules
    from lazypkg import run

    assert run() == "ran" and "lazypkg.heavy" in sys.modules
    assert vars(sys.modules["lazypkg"])["run"] is run  # kept: the next lookup is a plain attribute


def test_an_unknown_name_is_an_attribute_error_and_dir_lists_the_exports(package):
    import lazypkg

    with pytest.raises(AttributeError, match="module 'lazypkg' has no attribute 'nope'"):
        lazypkg.nope  # noqa: B018
    with pytest.raises(ImportError):
        from lazypkg import nope  # noqa: F401
    assert {"run", "LIMIT", "X"} <= set(dir(lazypkg))
