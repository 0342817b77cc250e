"""Sharding a suite: the balancing rule, and real pytest runs of a generated project sharded and unsharded,
whose merged outcomes, counts and coverage must equal the unsharded run's exactly."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from assay.engines.per_commit.config import SuiteConfig
from assay.engines.per_commit.pytest_suite import run_pytest_suite
from assay.engines.per_commit.reportlog import parse_report_log
from assay.engines.per_commit.shard_merge import ShardOutput, merge_report_logs, merge_shards
from assay.engines.per_commit.shard_plugin import BY_DURATION, BY_FILE_COUNT, assign, median, strategy
from assay.engines.per_commit.sharding import ShardSpec, shard_count
from assay.status import Status

# -- the rule ------------------------------------------------------------------------------------------


def _ids(files: int, per_file: int) -> list[str]:
    return [f"tests/test_{f}.py::test_{t}" for f in range(files) for t in range(per_file)]


def test_assign_is_a_partition_in_collection_order():
    ids = _ids(7, 9)
    durations = {n: float(i % 13) for i, n in enumerate(ids)}
    shards = assign(ids, durations, 4)
    flat = [n for s in shards for n in s]
    assert sorted(flat) == sorted(ids) and len(flat) == len(set(flat))
    for s in shards:
        assert s == [n for n in ids if n in set(s)]  # each keeps pytest's order


def test_longest_first_balances_a_skewed_suite_better_than_file_count():
    # file 0 holds the ten slow tests, the other files fast ones: file count puts all ten on one shard
    ids = _ids(8, 10)
    durations = {n: (5.0 if n.startswith("tests/test_0.py") else 0.1) for n in ids}
    by_time = assign(ids, durations, 4)
    by_files = assign(ids, {}, 4)

    def loads(shards):
        return [sum(durations[n] for n in s) for s in shards]

    def imbalance(shards):
        ls = loads(shards)
        return max(ls) / (sum(ls) / len(ls))

    assert strategy(ids, durations) == BY_DURATION and strategy(ids, {}) == BY_FILE_COUNT
    # optimum: the ten 5 s tests go 3-3-2-2, so the slowest shard holds 15 of the mean 14.25 s
    assert imbalance(by_time) == pytest.approx(15 / 14.25) and imbalance(by_files) > 2.0
    # the file-count fallback keeps each file's tests together and spreads files evenly
    files_per_shard = [len({n.split("::")[0] for n in s}) for s in by_files]
    assert files_per_shard == [2, 2, 2, 2]


def test_new_tests_get_the_median_of_the_recorded_durations():
    ids = ["a::x", "a::y", "a::z", "b::new1", "b::new2"]
    durations = {"a::x": 1.0, "a::y": 3.0, "a::z": 2.0}
    assert median(list(durations.values())) == 2.0
    shards = assign(ids, durations, 2)
    loads = [sum(durations.get(n, 2.0) for n in s) for s in shards]
    assert sorted(loads) == [5.0, 5.0]  # 3+2 | 2+2+1 would be 5 and 5 only with the median for new tests


def test_assign_is_deterministic_and_rejects_zero_shards():
    ids = _ids(3, 5)
    durations = dict.fromkeys(ids, 1.0)  # all ties: broken by node id
    first = assign(ids, durations, 3)
    assert first == assign(ids, dict(durations), 3)
    # the same tests collected in another order fall to the same shards
    again = assign(list(reversed(ids)), durations, 3)
    assert [sorted(s) for s in again] == [sorted(s) for s in first]
    with pytest.raises(ValueError, match="at least 1"):
        assign(ids, durations, 0)


def test_auto_shard_count_follows_the_recorded_work():
    auto = SuiteConfig(shards="auto", shard_target_s=60, max_shards=4)
    assert shard_count(auto, None) == 1
    assert shard_count(auto, 59.0) == 1
    assert shard_count(auto, 61.0) == 2
    assert shard_count(auto, 10_000.0) == 4
    assert shard_count(auto, float("nan")) == 1
    assert shard_count(SuiteConfig(shards=3), None) == 3
    with pytest.raises(ValueError, match="between 1 and 64"):
        SuiteConfig(shards=0)


# -- real runs -----------------------------------------------------------------------------------------

PROJECT = {
    "pytest.ini": "[pytest]\ntestpaths = tests\nmarkers =\n    unit: unit\n",
    "calc/__init__.py": "",
    "calc/ops.py": """
        def add(a, b):
            return a + b


        def div(a, b):
            if b == 0:
                raise ZeroDivisionError("b is zero")
            return a / b


        def never_called(x):
            y = x * 2
            return y
        """,
    "calc/text.py": """
        def shout(s):
            return s.upper() + "!"


        def whisper(s):
            return s.lower()
        """,
    "calc/unused.py": """
        def lonely():
            return 1
        """,
    "tests/test_ops.py": """
        import pytest
        from calc.ops import add, div


        @pytest.mark.parametrize("a,b", [(i, i + 1) for i in range(12)])
        def test_add(a, b):
            assert add(a, b) == 2 * a + 1


        def test_div():
            assert div(6, 3) == 2


        def test_div_by_zero_fails():
            assert div(1, 0) == 0


        @pytest.mark.xfail(reason="known")
        def test_expected_failure():
            assert div(1, 2) == 1
        """,
    "tests/test_text.py": """
        import pytest
        from calc.text import shout


        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")


        def test_shout():
            assert shout("a") == "A!"


        def test_fixture_error(broken):
            pass


        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass


        @pytest.mark.xfail(reason="fixed meanwhile")
        def test_xpass():
            assert True
        """,
    "tests/test_more.py": """
        import pytest


        @pytest.mark.parametrize("n", range(15))
        def test_many(n):
            assert n >= 0
        """,
    "tests/test_skipmod.py": """
        import pytest

        pytest.skip("whole module skipped", allow_module_level=True)


        def test_never():
            pass
        """,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shardproj")
    for rel, text in PROJECT.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip())
    return root


def _outcomes(res) -> dict[str, str]:
    return {c.node_id: c.outcome for c in res.test_cases}


def _run_shards(project: Path, out: Path, suite: SuiteConfig, count: int, durations: dict[str, float]):
    outputs = []
    results = []
    for i in range(count):
        d = out / f"shard{i}"
        res = run_pytest_suite(
            name="unit",
            suite=suite,
            workdir=project,
            out_dir=d,
            source="calc",
            shard=ShardSpec(i, count, durations),
        )
        results.append(res)
        outputs.append(ShardOutput(i, d, res.status, res.message, res.started_at, res.finished_at))
    return outputs, results


def merge(suite, count, shards, worktree, out_dir, *, source):
    return merge_shards(
        name="unit",
        suite=suite,
        count=count,
        shards=shards,
        worktree=worktree,
        out_dir=out_dir,
        python=sys.executable,
        source=source,
    )


@pytest.mark.parametrize("count,workers", [(3, 0), (2, 2)])
def test_sharded_run_merges_to_exactly_the_unsharded_run(project, tmp_path, count, workers):
    suite = SuiteConfig(workers=workers)
    whole = run_pytest_suite(name="unit", suite=suite, workdir=project, out_dir=tmp_path / "whole", source="calc")
    assert whole.status is Status.FAIL  # one failed test, one fixture error
    durations = {c.node_id: c.duration_s for c in whole.test_cases}
    outputs, shard_results = _run_shards(project, tmp_path, suite, count, durations)
    assert all(r.status in (Status.PASS, Status.FAIL) for r in shard_results), [r.message for r in shard_results]
    assert sum(len(r.test_cases) for r in shard_results) > len(whole.test_cases) - 2  # every test ran somewhere
    merged = merge(suite, count, outputs, project, tmp_path / "merged", source="calc")
    assert merged.status is Status.FAIL, merged.message
    assert _outcomes(merged) == _outcomes(whole)
    assert merged.counts == whole.counts
    assert merged.coverage is not None and whole.coverage is not None
    assert merged.coverage.files == whole.coverage.files  # per file: statements, covered, missing lines
    assert merged.coverage.line_percent == whole.coverage.line_percent
    assert "calc/unused.py" in {f.path for f in merged.coverage.files}  # never imported, still measured
    assert merged.message.startswith(whole.message.split(";")[0])


def test_a_lost_shard_makes_the_suite_error_naming_it(project, tmp_path):
    suite = SuiteConfig()
    outputs, _ = _run_shards(project, tmp_path, suite, 3, {})
    lost = [outputs[0], ShardOutput(1, None), outputs[2]]
    merged = merge(suite, 3, lost, project, tmp_path / "m", source="calc")
    assert merged.status is Status.ERROR and not merged.retryable
    assert "shard 2/3 left no report log" in merged.message
    assert merged.test_cases  # what the other shards ran is kept


def test_shards_that_collected_different_tests_are_an_error(project, tmp_path):
    suite = SuiteConfig()
    outputs, _ = _run_shards(project, tmp_path, suite, 2, {})
    other = tmp_path / "other"
    shutil.copytree(project, other)
    (other / "tests" / "test_extra.py").write_text("def test_extra():\n    pass\n")
    res = run_pytest_suite(
        name="unit", suite=suite, workdir=other, out_dir=tmp_path / "x1", source="calc", shard=ShardSpec(1, 2, {})
    )
    mixed = [outputs[0], ShardOutput(1, tmp_path / "x1", res.status, res.message)]
    merged = merge(suite, 2, mixed, project, tmp_path / "m", source="calc")
    assert merged.status is Status.ERROR and "collected different tests" in merged.message


def test_more_shards_than_tests_leaves_empty_shards_passing(tmp_path):
    root = tmp_path / "tiny"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_one.py").write_text("def test_one():\n    assert True\n")
    suite = SuiteConfig()
    outputs, results = _run_shards(root, tmp_path, suite, 3, {})
    assert [r.status for r in results] == [Status.PASS] * 3
    assert sum(1 for r in results if "fell to this shard" in r.message) == 2
    merged = merge(suite, 3, outputs, root, tmp_path / "m", source=None)
    assert merged.status is Status.PASS and merged.counts["passed"] == 1 and merged.counts["total"] == 1


def test_collector_reports_are_counted_once(tmp_path):
    lines = [
        '{"$report_type": "SessionStart", "pytest_version": "9"}',
        '{"$report_type": "CollectReport", "nodeid": "tests/test_skipmod.py", "outcome": "skipped",'
        ' "longrepr": ["x", 1, "Skipped: whole module"], "result": []}',
        '{"$report_type": "SessionFinish", "exitstatus": 0}',
    ]
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("\n".join(lines) + "\n")
    b.write_text("\n".join(lines) + "\n")
    merge_report_logs([a, b], tmp_path / "m.jsonl")
    report = parse_report_log(tmp_path / "m.jsonl")
    assert report.counts["skipped"] == 1 and report.counts["total"] == 1
