"""Per-commit testing (``assay_per_commit``): one exact commit of a target, its pytest suites, its gates.

The flow, one module per step:

* :mod:`.config` holds what per-commit testing needs of a target (repository, Python, suites, gates), and
  :mod:`.budget` how long a suite task may take;
* :mod:`.request` validates what was asked (target, sha or branch) before anything runs;
* :mod:`.workspace` fetches the repository and checks the commit out in its own git worktree;
* :mod:`.python_env` prepares the Python the suites run on (a cached venv of third-party dependencies and a
  per-run layer with the commit's own project);
* :mod:`.pytest_suite` runs one pytest suite as a subprocess and reads its machine outputs:
  :mod:`.reportlog` (pytest's report log: outcomes, node ids, collection errors) and :mod:`.coverage`
  (coverage.py's JSON report);
* :mod:`.suite` ties those together for one configured suite (and rebuilds a broken cached venv once);
* :mod:`.run_in_container` runs one suite in a container (``isolation.backend`` kubernetes or docker) and
  writes its result as JSON (:mod:`.result_json`), which the worker reads back and records;
* :mod:`.gates` turns the recorded suite runs of a commit into the gate checks and the commit's verdict.

The Airflow layer imports what it needs from this package (the names below); modules inside it import each
other by module.
"""

from __future__ import annotations

from assay.lazy import lazy_exports

# imported on first use: the config imports without the engine (assay.lazy)
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "assay.engines.per_commit.budget": ("per_commit_task_timeout_s",),
        "assay.engines.per_commit.config": (
            "CommitTargetConfig",
            "GateConfig",
            "RefPolicyConfig",
            "SandboxConfig",
            "SuiteConfig",
        ),
        "assay.engines.per_commit.coverage": ("CoverageReport", "FileCoverage", "parse_coverage_json"),
        "assay.engines.per_commit.gates": (
            "PreviousCoverage",
            "SuiteOutcome",
            "container_argv",
            "coverage_drop_check",
            "evaluate_commit_gates",
            "outcome_from_row",
            "verdict",
        ),
        "assay.engines.per_commit.pytest_suite": ("SuiteResult", "interrupted_suite_result", "run_pytest_suite"),
        "assay.engines.per_commit.python_env": ("TargetPython", "prepare_python"),
        "assay.engines.per_commit.reportlog": ("PytestReport", "parse_report_log"),
        "assay.engines.per_commit.result_json": (
            "RESULT_FILE",
            "read_suite_result",
            "suite_result_from_json",
            "suite_result_to_json",
            "write_suite_result",
        ),
        "assay.engines.per_commit.run_in_container": ("container_argv", "write_shard_spec", "write_target_config"),
        "assay.engines.per_commit.request": ("BRANCH_RE", "SHA_RE", "CommitRequest", "validate_commit_request"),
        "assay.engines.per_commit.suite": ("run_commit_suite",),
        "assay.engines.per_commit.workspace": ("GitError", "GitWorkspace", "ls_remote"),
    },
)

__all__ = [
    "BRANCH_RE",
    "SHA_RE",
    "CommitRequest",
    "CommitTargetConfig",
    "CoverageReport",
    "FileCoverage",
    "GateConfig",
    "GitError",
    "GitWorkspace",
    "PreviousCoverage",
    "PytestReport",
    "RESULT_FILE",
    "RefPolicyConfig",
    "SandboxConfig",
    "SuiteConfig",
    "SuiteOutcome",
    "SuiteResult",
    "TargetPython",
    "container_argv",
    "coverage_drop_check",
    "evaluate_commit_gates",
    "interrupted_suite_result",
    "ls_remote",
    "outcome_from_row",
    "parse_coverage_json",
    "parse_report_log",
    "per_commit_task_timeout_s",
    "prepare_python",
    "read_suite_result",
    "run_commit_suite",
    "run_pytest_suite",
    "suite_result_from_json",
    "suite_result_to_json",
    "validate_commit_request",
    "verdict",
    "write_suite_result",
    "write_target_config",
]
