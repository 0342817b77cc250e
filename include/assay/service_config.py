"""How a target's service is started for the runs that need it running (:mod:`assay.service` starts it).
A plain pydantic model (unknown keys forbidden), composed into a target's config by ``assay.config``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServiceConfig(BaseModel):
    """How the DAGs that need the target's service running (load tests, chaos) start it.

    ``argv`` placeholders: ``{python}`` (the worker's interpreter), ``{port}`` (a free loopback port),
    ``{workers}``, ``{tokens_file}`` (a file of fresh per-run tokens: reader, ml-engineer, admin),
    ``{work_dir}`` (a scratch directory of the task try). The DAG always stops what it started.
    The service sees the worker's environment minus every Airflow and Assay variable (as a target's
    pytest suites do) plus ``env``, the variables it needs (same placeholders as ``argv``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    argv: list[str]
    cwd: str
    workers: int = Field(1, ge=1, le=64)
    ready_timeout_s: float = Field(120, gt=0)
    health_path: str = "/health"
    env: dict[str, str] = Field(default_factory=dict)
