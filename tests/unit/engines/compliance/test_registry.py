"""Checks registered by id: lookup, params model, errors naming the known ids, re-registration."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from assay.engines.compliance import registry
from assay.engines.compliance.model import ResourceResult


class Params(BaseModel):
    limit: int = 3


@pytest.fixture
def registered():
    ids = ["test.registry_one", "test.registry_two"]

    @registry.check(ids[0], title="first", params=Params)
    def one(ctx):
        return [ResourceResult("r", "PASS", "fine")]

    @registry.check(ids[1], title="second")
    def two(ctx):
        return []

    yield ids, one
    for i in ids:
        registry.unregister(i)


def test_a_registered_check_is_found_with_its_params_model(registered):
    ids, one = registered
    spec = registry.get_check(ids[0])
    assert (spec.id, spec.title, spec.params_model, spec.fn) == (ids[0], "first", Params, one)
    assert registry.get_check(ids[1]).params_model is None
    assert set(ids) <= set(registry.check_ids()) and registry.check_ids() == sorted(registry.check_ids())


def test_an_unknown_id_names_the_known_ones(registered):
    with pytest.raises(KeyError, match=r"unknown check 'test.registry_on' \(known: .*test.registry_one"):
        registry.get_check("test.registry_on")


def test_an_id_taken_by_another_function_is_refused_and_the_same_function_may_register_again(registered):
    ids, one = registered
    with pytest.raises(ValueError, match="already registered by .*one"):
        registry.check(ids[0], title="clash")(lambda ctx: [])
    registry.check(ids[0], title="first again", params=Params)(one)  # a reloaded module
    assert registry.get_check(ids[0]).title == "first again"
    with pytest.raises(ValueError, match="non-empty string"):
        registry.check(" padded ", title="x")


def test_load_builtin_checks_imports_every_module_of_the_checks_package(tmp_path, monkeypatch):
    pkg = tmp_path / "fake_checks"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "alpha.py").write_text(
        "from assay.engines.compliance.registry import check\n"
        "@check('test.builtin_alpha', title='alpha')\n"
        "def alpha(ctx):\n    return []\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "BUILTIN_CHECKS_PACKAGE", "fake_checks")
    try:
        registry.load_builtin_checks()
        assert registry.get_check("test.builtin_alpha").title == "alpha"
    finally:
        registry.unregister("test.builtin_alpha")
