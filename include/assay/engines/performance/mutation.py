"""Mutation testing of a target's algorithm modules with mutmut 3, as a subprocess.

The target configures mutmut itself (``[tool.mutmut]`` in ``pyproject.toml`` or ``[mutmut]`` in
``setup.cfg``: ``source_paths``, ``only_mutate``, test selection), or the Assay config supplies those
settings for a target that has none (written into the scratch copy's ``setup.cfg``). Assay copies the project to a scratch
directory (mutmut writes ``mutants/`` into its working directory and reuses earlier results found there,
so a fresh copy makes every nightly run complete and leaves the checkout clean), then runs:

1. ``mutmut run [--max-children N]`` (hard timeout, process group killed);
2. ``mutmut results --all true``: one ``<module>.<mangled function>__mutmut_<n>: <status>`` line per
   mutant, mutmut's own classification, from which the per-module counts come;
3. ``mutmut export-cicd-stats``: the totals JSON (``mutants/mutmut-cicd-stats.json``), cross-checked
   against the per-mutant lines.

Mutation score of a module = detected / (detected + undetected), where detected = killed + timeout +
caught by type check (a mutant that makes the tests hang or fails type checking was noticed; mutmut's
own badge also counts timeouts as detected) and undetected = survived + no tests (a mutant no test even
runs is a gap in the suite, as in Stryker's score). Skipped, suspicious and segfault mutants are
reported but not scored. Any "not checked" or "interrupted" mutant means the run is incomplete: ERROR.
"""

from __future__ import annotations

import configparser
import json
import re
import shutil
import sys
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from assay.engines.performance.config import MutationConfig
from assay.engines.performance.result import PerformanceResult, summarise
from assay.errors import ConfigError, ToolError
from assay.process import run_command, target_env
from assay.sandbox import SandboxPolicy, hand_over, interpreter_dirs, wrap_command
from assay.status import Status
from assay.store.records import CheckRecord, MetricRecord

DETECTED = frozenset({"killed", "timeout", "caught by type check"})
UNDETECTED = frozenset({"survived", "no tests"})
UNSCORED = frozenset({"skipped", "suspicious", "segfault"})
INCOMPLETE = frozenset({"not checked", "check was interrupted by user"})
_RESULT_LINE = re.compile(r"^\s+(?P<key>[^\s:]+__mutmut_\d+): (?P<status>[a-z ]+)$")
RESULTS_TIMEOUT_S = 300


@dataclass(frozen=True)
class ModuleScore:
    module: str
    counts: dict[str, int]

    @property
    def detected(self) -> int:
        return sum(self.counts.get(s, 0) for s in DETECTED)

    @property
    def undetected(self) -> int:
        return sum(self.counts.get(s, 0) for s in UNDETECTED)

    @property
    def score(self) -> float | None:
        scored = self.detected + self.undetected
        return self.detected / scored if scored else None


def module_of(mutant_key: str) -> str:
    """``calc.ops.x_clamp__mutmut_3`` → ``calc.ops`` (mangled function names contain no dot)."""
    return mutant_key.rsplit(".", 1)[0]


def parse_results(text: str) -> dict[str, str]:
    """``mutmut results --all true`` output → {mutant key: status}."""
    return {m["key"]: m["status"] for line in text.splitlines() if (m := _RESULT_LINE.match(line))}


def scores_by_module(statuses: dict[str, str]) -> list[ModuleScore]:
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for key, status in statuses.items():
        per[module_of(key)][status] += 1
    return [ModuleScore(mod, dict(per[mod])) for mod in sorted(per)]


def has_mutmut_config(project: Path) -> bool:
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        try:
            if "mutmut" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}):
                return True
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from None
    setup_cfg = project / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser()
        parser.read(setup_cfg, encoding="utf-8")
        return parser.has_section("mutmut")
    return False


def _has_pyproject_mutmut(project: Path) -> bool:
    pyproject = project / "pyproject.toml"
    return pyproject.is_file() and "mutmut" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})


def write_inline_config(work: Path, config: MutationConfig) -> None:
    """Put the Assay-side mutmut settings into the scratch copy's ``setup.cfg`` ``[mutmut]`` section."""
    parser = configparser.ConfigParser()
    setup_cfg = work / "setup.cfg"
    if setup_cfg.is_file():
        parser.read(setup_cfg, encoding="utf-8")
    parser.remove_section("mutmut")
    parser.add_section("mutmut")
    settings = {
        "source_paths": config.source_paths,
        "only_mutate": config.only_mutate,
        "pytest_add_cli_args_test_selection": config.test_paths,
    }
    for key, values in settings.items():
        if values:
            parser.set("mutmut", key, "\n" + "\n".join(values))
    with setup_cfg.open("w", encoding="utf-8") as fh:
        parser.write(fh)


def run_mutation_testing(
    config: MutationConfig,
    *,
    out_dir: str | Path,
    name: str = "mutation",
    python: str | None = None,
    sandbox: SandboxPolicy | None = None,
) -> PerformanceResult:
    """Run mutmut on a scratch copy of ``config.project_dir`` and gate each module's score.

    ``sandbox``: mutmut (the target's tests, on mutants of its code) runs confined (:mod:`assay.sandbox`):
    it sees the scratch copy and ``out_dir`` (writable), the interpreter, nothing else; no network."""
    project = Path(config.project_dir)
    if not project.is_dir():
        raise ConfigError(f"mutation: project_dir {config.project_dir!r} is not a directory")
    own_config = has_mutmut_config(project)
    if own_config and config.source_paths and _has_pyproject_mutmut(project):
        raise ConfigError(
            f"mutation: {project} configures mutmut in pyproject.toml [tool.mutmut], which mutmut reads first; "
            "remove source_paths / only_mutate / test_paths from the Assay config or from the target"
        )
    if not own_config and not config.source_paths:
        raise ConfigError(
            f"mutation: {project} has no mutmut configuration; add to its pyproject.toml:\n"
            '[tool.mutmut]\nsource_paths = ["<package>"]          # the algorithm modules to mutate\n'
            'pytest_add_cli_args_test_selection = ["tests/unit"]  # the tests that should kill mutants\n'
            "or set mutation.source_paths (and test_paths) in the Assay config"
        )
    out = Path(out_dir)
    work = out / "mutmut-work"
    shutil.rmtree(work, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(project, work, ignore=shutil.ignore_patterns(*config.copy_ignore), symlinks=True)
    if config.source_paths:
        write_inline_config(work, config)
    started = datetime.now(UTC)
    py = python or sys.executable
    env = target_env(dict(config.env))
    details: dict = {"project_dir": str(project), "workdir": str(work), "min_score": config.min_score}
    hand_over(sandbox, work)  # the scratch copy is the sandbox's to write in

    def confined(argv: list[str]) -> tuple[list[str], dict[str, str]]:
        if sandbox is None:
            return argv, env
        wrapped = wrap_command(sandbox, argv, cwd=work, env=env, read_only=interpreter_dirs(py), writable=[out])
        details["sandbox"] = wrapped.describe()
        return wrapped.argv, wrapped.env

    def result(
        checks: list[CheckRecord], metrics: list[MetricRecord] | None = None, log: Path | None = None
    ) -> PerformanceResult:
        return PerformanceResult(
            name=name,
            suite_kind="mutation",
            started_at=started,
            finished_at=datetime.now(UTC),
            checks=checks,
            metrics=metrics or [],
            message=summarise(checks),
            log_path=str(log) if log else None,
            details=details,
        )

    def error(message: str, log: Path | None = None) -> PerformanceResult:
        return result([CheckRecord("mutation.run", Status.ERROR, message=message)], log=log)

    run_argv = [py, "-m", "mutmut", "run"] + (
        ["--max-children", str(config.max_children)] if config.max_children else []
    )
    details["argv"] = run_argv
    try:
        argv, run_env = confined(run_argv)
        run = run_command(argv, cwd=work, timeout_s=config.timeout_s, log_path=out / "mutmut-run.log", env=run_env)
    except ToolError as exc:
        return error(str(exc))
    if run.timed_out:
        return error(f"mutmut run exceeded {config.timeout_s:g} s; its process group was killed", run.log_path)
    if run.returncode != 0:
        return error(
            f"mutmut run exited with code {run.returncode} (e.g. the clean test run failed):\n"
            f"{_clean(run.output_tail)[-1500:]}",
            run.log_path,
        )

    argv, run_env = confined([py, "-m", "mutmut", "results", "--all", "true"])
    res = run_command(argv, cwd=work, timeout_s=RESULTS_TIMEOUT_S, log_path=out / "mutmut-results.log", env=run_env)
    if res.timed_out or res.returncode != 0:
        return error(f"mutmut results failed (exit {res.returncode}):\n{_clean(res.output_tail)[-1500:]}", res.log_path)
    statuses = parse_results(res.log_path.read_text(encoding="utf-8", errors="replace"))
    if not statuses:
        return error(
            "mutmut generated no mutant (check source_paths / only_mutate in the target's mutmut configuration)",
            run.log_path,
        )

    totals = _cicd_totals(work, out, *confined([py, "-m", "mutmut", "export-cicd-stats"]))
    details["cicd_stats"] = totals
    checks, metrics = judge_scores(statuses, config.min_score)
    if totals is not None and totals.get("total") != len(statuses):
        checks.insert(
            0,
            CheckRecord(
                "mutation.run",
                Status.ERROR,
                message=(
                    f"mutmut's totals ({totals.get('total')} mutants) disagree with its per-mutant results "
                    f"({len(statuses)}); the results cannot be trusted"
                ),
            ),
        )
    return result(checks, metrics, run.log_path)


def _cicd_totals(work: Path, out: Path, argv: list[str], env: dict[str, str]) -> dict | None:
    cmd = run_command(
        argv,
        cwd=work,
        timeout_s=RESULTS_TIMEOUT_S,
        log_path=out / "mutmut-cicd.log",
        env=env,
    )
    path = work / "mutants" / "mutmut-cicd-stats.json"
    if cmd.returncode != 0 or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def judge_scores(statuses: dict[str, str], min_score: float) -> tuple[list[CheckRecord], list[MetricRecord]]:
    """Per-module and overall score checks (``mutation.score:<module>``, ``mutation.score``) and counts."""
    modules = scores_by_module(statuses)
    checks: list[CheckRecord] = []
    metrics: list[MetricRecord] = []
    incomplete = {k: s for k, s in statuses.items() if s in INCOMPLETE}
    unknown = sorted({s for s in statuses.values() if s not in DETECTED | UNDETECTED | UNSCORED | INCOMPLETE})
    if incomplete:
        checks.append(
            CheckRecord(
                "mutation.run",
                Status.ERROR,
                observed=len(incomplete),
                threshold=0,
                comparator="==",
                message=f"{len(incomplete)} mutant(s) were not checked; the run is incomplete",
            )
        )
    elif unknown:
        checks.append(
            CheckRecord(
                "mutation.run", Status.ERROR, message=f"mutmut reported statuses this engine does not know: {unknown}"
            )
        )
    else:
        checks.append(CheckRecord("mutation.run", Status.PASS, message=f"{len(statuses)} mutants evaluated"))
    for mod in [*modules, ModuleScore("ALL", dict(Counter(statuses.values())))]:
        labels = {"module": mod.module}
        for status, n in sorted(mod.counts.items()):
            metrics.append(MetricRecord(f"mutation.mutants.{status.replace(' ', '_')}", float(n), "count", labels))
        name = "mutation.score" if mod.module == "ALL" else f"mutation.score:{mod.module}"
        counts = ", ".join(f"{n} {s}" for s, n in sorted(mod.counts.items()))
        if mod.score is None:
            checks.append(
                CheckRecord(
                    name,
                    Status.SKIP,
                    threshold=min_score,
                    comparator=">=",
                    message=f"{mod.module}: no scorable mutant ({counts})",
                )
            )
            continue
        metrics.append(MetricRecord("mutation.score", round(mod.score, 4), "ratio", labels))
        checks.append(
            CheckRecord(
                name,
                Status.PASS if mod.score >= min_score else Status.FAIL,
                observed=round(mod.score, 4),
                threshold=min_score,
                comparator=">=",
                message=f"{mod.module}: score {mod.score:.1%} = {mod.detected} detected / "
                f"{mod.detected + mod.undetected} scored ({counts})",
            )
        )
    return checks, metrics


def _clean(text: str) -> str:
    """Drop mutmut's spinner frames (carriage-return redraws) from an output tail."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.splitlines())
