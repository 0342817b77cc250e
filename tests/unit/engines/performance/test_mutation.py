"""Mutation testing with the real mutmut 3 on a tiny project made for the test."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from support.demo_platform import demo_performance

from assay.engines.performance.config import MutationConfig
from assay.engines.performance.mutation import judge_scores, module_of, parse_results, run_mutation_testing
from assay.errors import ConfigError

FILES = {
    "pyproject.toml": """
        [tool.mutmut]
        source_paths = ["calc"]
        pytest_add_cli_args_test_selection = ["tests"]
    """,
    "calc/__init__.py": "",
    "calc/ops.py": """
        def fee(amount):
            if amount >= 100:
                return amount * 0.02
            return 1
    """,
    "calc/stats.py": """
        def mean(xs):
            return sum(xs) / len(xs)


        def spread(xs):
            return max(xs) - min(xs)
    """,
    "tests/test_calc.py": """
        from calc.ops import fee
        from calc.stats import mean


        def test_fee():
            assert fee(99) == 1
            assert fee(100) == 2
            assert fee(300) == 6


        def test_mean():
            assert mean([1, 2, 3]) == 2
    """,
}


def make_project(root: Path, files: dict[str, str] = FILES) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


@pytest.fixture(scope="module")
def mutation_result(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("project"))
    config = MutationConfig(project_dir=str(project), min_score=0.8, max_children=2, timeout_s=120)
    return project, run_mutation_testing(config, out_dir=tmp_path_factory.mktemp("out"))


@pytest.mark.slow
def test_scores_per_module_and_gate(mutation_result):
    project, result = mutation_result
    ops, stats = result.check("mutation.score:calc.ops"), result.check("mutation.score:calc.stats")
    assert ops.status == "PASS" and ops.observed == 1.0, ops.message  # boundaries tested: every mutant killed
    assert stats.status == "FAIL" and stats.observed < 0.8, stats.message  # spread() is never tested
    assert "no tests" in stats.message
    assert result.check("mutation.run").status == "PASS"
    assert result.status == "FAIL"
    assert json.loads(json.dumps(result.describe_dict()))["summary"]["counts"] == {
        "evaluated": 4,
        "successful": 2,
        "unsuccessful": 2,
    }
    killed = result.metric("mutation.mutants.killed", module="calc.stats")
    untested = result.metric("mutation.mutants.no_tests", module="calc.stats")
    assert result.metric("mutation.score", module="calc.stats") == pytest.approx(killed / (killed + untested), abs=1e-4)


def test_totals_agree_with_mutmuts_own_cicd_stats(mutation_result):
    _, result = mutation_result
    totals = result.details["cicd_stats"]
    per_status = {m.name: m.value for m in result.metrics if m.labels["module"] == "ALL"}
    assert totals["total"] == sum(v for k, v in per_status.items() if k.startswith("mutation.mutants."))
    assert totals["killed"] == per_status["mutation.mutants.killed"]


def test_the_checkout_is_left_untouched(mutation_result):
    project, result = mutation_result
    assert not (project / "mutants").exists()
    assert Path(result.details["workdir"], "mutants").is_dir()


def test_failing_clean_test_run_is_error(tmp_path):
    files = FILES | {"tests/test_calc.py": "def test_broken():\n    assert False\n"}
    project = make_project(tmp_path / "project", files)
    result = run_mutation_testing(MutationConfig(project_dir=str(project), timeout_s=120), out_dir=tmp_path / "out")
    assert result.status == "ERROR"
    assert "mutmut run exited with code 1" in result.message and "clean test" in result.message


def test_a_project_without_mutmut_config_is_a_config_error(tmp_path):
    project = make_project(tmp_path, {"calc/ops.py": "x = 1\n"})
    with pytest.raises(ConfigError, match=r"\[tool.mutmut\]"):
        run_mutation_testing(MutationConfig(project_dir=str(project)), out_dir=tmp_path / "out")


def test_results_parsing_and_scoring_rules():
    text = (
        "    calc.ops.x_clamp__mutmut_1: killed\n"
        "    calc.ops.xǁBoxǁarea__mutmut_2: survived\n"
        "    calc.ops.x_clamp__mutmut_3: timeout\n"
        "    calc.stats.x_mean__mutmut_1: no tests\n"
        "    calc.stats.x_mean__mutmut_2: skipped\n"
        "Saved CI/CD stats to mutants/mutmut-cicd-stats.json\n"
    )
    statuses = parse_results(text)
    assert len(statuses) == 5 and module_of("calc.ops.xǁBoxǁarea__mutmut_2") == "calc.ops"
    checks = {c.name: c for c in judge_scores(statuses, 0.5)[0]}
    assert checks["mutation.score:calc.ops"].observed == pytest.approx(2 / 3, abs=1e-4)  # timeout counts as detected
    assert checks["mutation.score:calc.stats"].observed == 0.0  # skipped is not scored
    assert checks["mutation.score"].observed == 0.5


def test_unchecked_mutants_make_the_run_incomplete():
    checks = judge_scores({"m.x_f__mutmut_1": "killed", "m.x_f__mutmut_2": "not checked"}, 0.5)[0]
    assert checks[0].name == "mutation.run" and checks[0].status == "ERROR"


@pytest.mark.slow
def test_inline_settings_for_a_target_without_mutmut_config(tmp_path):
    files = {k: v for k, v in FILES.items() if k != "pyproject.toml"}
    project = make_project(tmp_path / "project", files)
    config = MutationConfig(
        project_dir=str(project), source_paths=["calc"], only_mutate=["calc/ops.py"], test_paths=["tests"]
    )
    result = run_mutation_testing(config, out_dir=tmp_path / "out")
    assert result.check("mutation.score:calc.ops").status == "PASS"
    assert result.check("mutation.score:calc.stats") is None  # only_mutate kept it out
    assert not (project / "setup.cfg").exists()  # written into the scratch copy only


def test_inline_settings_conflicting_with_the_targets_own_are_rejected(tmp_path):
    project = make_project(tmp_path / "project")
    with pytest.raises(ConfigError, match="reads first"):
        run_mutation_testing(MutationConfig(project_dir=str(project), source_paths=["calc"]), out_dir=tmp_path / "o")


@pytest.mark.slow
def test_demo_feature_transformer_mutation_score(tmp_path):
    """The real demo target as configured: mutmut on fraud/features.py against its unit tests."""
    result = run_mutation_testing(demo_performance().mutation, out_dir=tmp_path)
    check = result.check("mutation.score:fraud.features")
    assert result.check("mutation.run").status == "PASS", result.message
    assert check is not None and 0.5 < check.observed <= 1.0
    assert {m.labels["module"] for m in result.metrics} == {"fraud.features", "ALL"}
