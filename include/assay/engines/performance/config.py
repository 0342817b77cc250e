"""Configuration of the nightly performance suites, with the strategy's numbers as named profiles.

Every model is strict (unknown keys are errors) so a typo in ``assay.yaml`` fails loudly. Production
values come from the testing strategy (STRATEGY.md "Performance (nightly)"). What a suite runs (the
locustfile, the pipeline command, the benchmark factory, the project to mutate) is the target's own and
always comes from its configuration: no default here names any target's code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assay.engines.data_quality.config import GoldenRef

# Assay's Locust plugin, loaded beside every locustfile. It sits alone in its folder because Locust puts
# a locustfile's folder on sys.path while importing it: nothing else may be importable from there.
LOCUST_PLUGIN = Path(__file__).resolve().with_name("locust_plugin") / "assay_locust.py"
ArrivalShape = Literal["poisson", "uniform", "locustfile"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoadProfile(_Strict):
    """How much load Locust generates: ``users`` spawned evenly over ``ramp_up_s``, for ``duration_s``
    in total (ramp included), each sending ``target_rps / users`` requests per second on average.

    ``arrival`` is the shape of the request stream (applied by Assay's Locust plugin to every user class):

    * ``poisson`` (default): each user's requests are a Poisson process from a random start, so all
      users together send an open-loop Poisson stream of ``target_rps``, as independent callers of an
      inference API do;
    * ``uniform``: each user sends at a fixed interval from a random phase (evenly spread arrivals);
    * ``locustfile``: the locustfile's own ``wait_time`` decides (Assay does not pace the users).

    Arrivals stay open-loop only while a user is free when its next request is due: keep ``users``
    well above ``target_rps`` × the latency you expect (the run records how late arrivals were sent).
    """

    users: int = Field(gt=0, le=100_000)
    ramp_up_s: float = Field(ge=0)
    duration_s: float = Field(gt=0, le=24 * 3600)
    target_rps: float = Field(gt=0)
    arrival: ArrivalShape = "poisson"

    @model_validator(mode="after")
    def _ramp_within_run(self) -> LoadProfile:
        if self.ramp_up_s >= self.duration_s:
            raise ValueError(f"ramp_up_s ({self.ramp_up_s}) must be shorter than duration_s ({self.duration_s})")
        return self

    @property
    def spawn_rate(self) -> float:
        """Users started per second (all at once when there is no ramp)."""
        return self.users / self.ramp_up_s if self.ramp_up_s else float(self.users)

    @property
    def rps_per_user(self) -> float:
        return self.target_rps / self.users


def _parse_request_pattern(pattern: str) -> tuple[str | None, str]:
    """``"POST /models/predict"`` → ("POST", "/models/predict"); ``"/health"`` → (None, "/health")."""
    method, sep, name = pattern.strip().partition(" ")
    if sep and method.isalpha() and method.isupper():
        return method, name.strip()
    return None, pattern.strip()


class RequestGroupSlo(_Strict):
    """The gates of one named group of requests, judged on the group's own figures.

    ``requests`` lists Locust entries as ``"METHOD name"`` (``"POST /models/predict"``) or a name alone
    for any method; ``*`` and ``?`` match like file globs (``"GET /models/*"``). A limit left out is not
    gated for this group. A group that no request of the run matched is ERROR: a gate on nothing passes
    nothing.
    """

    requests: list[str] = Field(min_length=1)
    p95_max_ms: float | None = Field(None, gt=0)
    error_rate_max: float | None = Field(None, gt=0, le=1)

    @field_validator("requests")
    @classmethod
    def _non_empty_patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not _parse_request_pattern(pattern)[1]:
                raise ValueError(f"request pattern {pattern!r} names no request; use 'POST /models/predict'")
        return patterns

    def matches(self, method: str, name: str) -> bool:
        from fnmatch import fnmatchcase

        for pattern in self.requests:
            want_method, want_name = _parse_request_pattern(pattern)
            if (want_method is None or want_method == method.upper()) and fnmatchcase(name, want_name):
                return True
        return False


class SloConfig(_Strict):
    """Service-level gates, per request group and per endpoint, never pooled across endpoints.

    * ``groups``: named request groups with their own limits (e.g. ``inference`` = ``POST
      /models/predict``: p95 < 100 ms, error rate < 0.1 %);
    * ``p95_max_ms`` / ``error_rate_max``: the limits applied to every endpoint that no group claims,
      each endpoint judged on its own figures (so a fast ``/health`` never hides a slow prediction);
      ``None`` gates nothing there;
    * ``throughput_min_rps``: successful requests per second over the steady state, all endpoints.
    """

    p95_max_ms: float | None = Field(100.0, gt=0)
    error_rate_max: float | None = Field(0.001, gt=0, le=1)
    throughput_min_rps: float = Field(0.0, ge=0)
    groups: dict[str, RequestGroupSlo] = Field(default_factory=dict)

    @field_validator("groups")
    @classmethod
    def _group_names(cls, groups: dict[str, RequestGroupSlo]) -> dict[str, RequestGroupSlo]:
        for name in groups:
            if not name.strip() or len(name) > 60 or any(c in name for c in "[]\n"):
                raise ValueError(f"group name {name!r} must be 1-60 characters without brackets or newlines")
        return groups


INFERENCE_GROUP = RequestGroupSlo(requests=["POST /models/predict"], p95_max_ms=100, error_rate_max=0.001)

# The strategy's model-inference load test: 1000 users, 60 s ramp-up, 10 min, 100 requests/s, pass if
# p95 < 100 ms and error rate < 0.1 % (for the inference requests, judged on their own; every other
# endpoint, such as the health probe, gets the same limits on its own figures). Arrivals are an
# open-loop Poisson stream. The throughput floor is 95 % of the asked-for rate: a healthy run lands
# around it, while a server that cannot keep up (or a saturated load generator) falls well below and
# the run did not test what it claims.
PRODUCTION_INFERENCE_PROFILE = LoadProfile(users=1000, ramp_up_s=60, duration_s=600, target_rps=100)
PRODUCTION_INFERENCE_SLO = SloConfig(
    p95_max_ms=100, error_rate_max=0.001, throughput_min_rps=95, groups={"inference": INFERENCE_GROUP}
)


class LoadTestConfig(_Strict):
    """One Locust run of ``locustfile`` (the target's own load profile) against ``host``. The bearer token
    is not configuration: the operator reads it from an Airflow connection and passes it to
    :func:`run_load_test`."""

    host: str
    locustfile: str
    profile: LoadProfile = PRODUCTION_INFERENCE_PROFILE
    slo: SloConfig = PRODUCTION_INFERENCE_SLO
    health_path: str = "/health"
    user_classes: list[str] = Field(default_factory=list)
    stop_timeout_s: float = Field(5.0, ge=0)
    startup_grace_s: float = Field(60.0, gt=0)
    probe_timeout_s: float = Field(5.0, gt=0)
    env: dict[str, str] = Field(default_factory=dict)
    # the request payloads, a golden dataset read by version: verified before Locust starts, then handed to
    # the locustfile as ASSAY_PAYLOADS_PATH / _NAME / _VERSION / _SHA256 (dir defaults to data_quality.golden_dir)
    payloads: GoldenRef | None = None

    @field_validator("host")
    @classmethod
    def _http_url(cls, host: str) -> str:
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"host {host!r} must be an http(s) URL such as http://127.0.0.1:8000")
        return host.rstrip("/")

    @field_validator("health_path")
    @classmethod
    def _absolute_path(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"health_path {path!r} must start with '/'")
        return path

    @property
    def hard_timeout_s(self) -> float:
        """Locust's own run time plus the time it may need to start and to stop its users."""
        return self.profile.duration_s + self.stop_timeout_s + self.startup_grace_s


class RegressionConfig(_Strict):
    """Against the accepted nightly baseline: p95 or throughput worse by more than ``warn_margin``
    (a fraction) is WARN, by more than ``fail_margin`` is FAIL."""

    warn_margin: float = Field(0.10, gt=0)
    fail_margin: float = Field(0.25, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> RegressionConfig:
        if self.fail_margin < self.warn_margin:
            raise ValueError(f"fail_margin ({self.fail_margin}) must be >= warn_margin ({self.warn_margin})")
        return self


class PipelineLoadConfig(_Strict):
    """Run ``concurrency`` training pipelines side by side for ``duration_s``.

    ``command`` is an argv (``{python}`` is replaced by the worker's interpreter) run in ``cwd``: the
    target's own pipeline, with no default (a run without one, and without a callable passed to
    :func:`~assay.engines.performance.pipelines.run_pipeline_load`, is a ConfigError). With
    ``sustained`` each slot starts a new run as soon as its previous one ends, until ``duration_s`` is
    over (then in-flight runs may finish within ``run_timeout_s``); otherwise each slot runs once.
    Completion rate must be > ``completion_rate_min``; mean CPU and peak memory utilisation
    (``resource_scope``: the whole machine, or only the pipelines' process tree) must stay < the maxima.
    """

    command: list[str] = Field(default_factory=list)
    cwd: str | None = None
    concurrency: int = Field(50, gt=0, le=1000)
    duration_s: float = Field(1800, gt=0)
    run_timeout_s: float = Field(600, gt=0)
    sustained: bool = True
    completion_rate_min: float = Field(0.95, ge=0, le=1)
    cpu_percent_max: float = Field(80.0, gt=0, le=100)
    memory_percent_max: float = Field(80.0, gt=0, le=100)
    resource_scope: Literal["system", "process_tree"] = "system"
    sample_interval_s: float = Field(1.0, gt=0)
    env: dict[str, str] = Field(default_factory=dict)


# The strategy: 50 concurrent pipelines for 30 min, completion > 95 %, resource use < 80 % (the defaults;
# the command is the target's own).
PRODUCTION_PIPELINE_LOAD = PipelineLoadConfig(concurrency=50, duration_s=1800)


class MicrobenchConfig(_Strict):
    """Latency, throughput and peak memory of a model callable, one fresh subprocess per batch size.

    ``factory`` is ``"module:function"`` importable from ``cwd``; it returns ``(predict, make_batch)``
    where ``make_batch(n)`` builds an input of ``n`` rows and ``predict(batch)`` is what is timed.
    Gates (STRATEGY.md, model validation): p99 <= ``p99_max_ms`` and peak RSS <= ``peak_memory_max_mb``
    for every batch size; ``None`` disables a gate.
    """

    factory: str
    cwd: str | None = None
    batch_sizes: list[int] = Field(default_factory=lambda: [1, 32, 256])
    iterations: int = Field(200, gt=0)
    warmup: int = Field(10, ge=0)
    p99_max_ms: float | None = Field(100.0, gt=0)
    peak_memory_max_mb: float | None = Field(1000.0, gt=0)
    timeout_s: float = Field(300, gt=0)
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("factory")
    @classmethod
    def _module_colon_function(cls, factory: str) -> str:
        module, sep, func = factory.partition(":")
        if not sep or not module or not func.isidentifier():
            raise ValueError(f"factory {factory!r} must look like 'package.module:function'")
        return factory

    @field_validator("batch_sizes")
    @classmethod
    def _positive_sizes(cls, sizes: list[int]) -> list[int]:
        if not sizes or any(s < 1 for s in sizes):
            raise ValueError(f"batch_sizes {sizes} must be a non-empty list of positive integers")
        return sizes


class MutationConfig(_Strict):
    """mutmut 3 on a target. Each mutated module's score must be >= ``min_score``.

    The target normally configures mutmut itself (``[tool.mutmut]`` in ``pyproject.toml`` or ``[mutmut]``
    in ``setup.cfg``). For a target without that, ``source_paths`` (with optional ``only_mutate`` globs and
    ``test_paths``) are written into the scratch copy's ``setup.cfg``; setting them for a target that has
    its own ``[tool.mutmut]`` is an error, since mutmut would silently ignore them.
    """

    project_dir: str
    min_score: float = Field(0.8, ge=0, le=1)
    max_children: int | None = Field(None, gt=0)
    timeout_s: float = Field(1800, gt=0)
    source_paths: list[str] = Field(default_factory=list)
    only_mutate: list[str] = Field(default_factory=list)
    test_paths: list[str] = Field(default_factory=list)
    copy_ignore: list[str] = Field(
        default_factory=lambda: [".git", "mutants", ".venv", "venv", "__pycache__", ".pytest_cache", "*.egg-info"]
    )
    env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _inline_needs_sources(self) -> MutationConfig:
        if (self.only_mutate or self.test_paths) and not self.source_paths:
            raise ValueError("only_mutate / test_paths need source_paths (the directories mutmut copies and mutates)")
        return self


class PerformanceSuitesConfig(_Strict):
    """The nightly performance suites of one target; a suite left out is not run."""

    load_test: LoadTestConfig | None = None
    regression: RegressionConfig = Field(default_factory=RegressionConfig)
    measurement_tolerance: float = Field(0.20, gt=0, le=1)
    pipeline_load: PipelineLoadConfig | None = None
    microbenchmark: MicrobenchConfig | None = None
    mutation: MutationConfig | None = None


class MeasurementIsolationConfig(_Strict):
    """How the timing measurements (load test, micro-benchmarks, pipeline load) are kept alone on a machine,
    and when a run is taken as disturbed anyway. Top-level ``performance_isolation`` in ``assay.yaml``.

    * ``pool``: the Airflow pool (one slot) every measurement task takes, so two never run at once in the
      whole deployment; ``make run`` and compose's ``airflow-init`` create it (a task in a pool that does not
      exist is never scheduled);
    * ``queue``: the Celery queue of those tasks, served by a worker of their own (docker-compose's
      ``airflow-worker-performance``, concurrency 1); ignored by the LocalExecutor of ``make run``;
    * ``other_work_max_share``: a run during which work other than the measurement used more than this
      share of the machine's cores on average is WARN "measurement disturbed" and its latency / throughput
      FAILs are not judged (:mod:`assay.engines.performance.machine_load`); ``None`` records the machine's
      load without judging it;
    * ``sample_interval_s``: how often the machine's load is sampled.

    Mutation testing is not a measurement (its verdict, the mutation score, does not depend on CPU
    contention; only its duration does): it stays on the default queue, outside the pool, so it never holds
    the measurement slot for its half-hour timeout.
    """

    pool: str = Field("assay_measurement", pattern=r"^[A-Za-z0-9_.-]{1,256}$")
    queue: str = Field("performance", pattern=r"^[A-Za-z0-9_.-]{1,256}$")
    other_work_max_share: float | None = Field(0.25, gt=0, le=1)
    sample_interval_s: float = Field(1.0, gt=0, le=60)
