"""Operators of ``assay_model_validation``: validate a new model version; analyse an A/B experiment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSkipException

from assay.config import ModelConfig
from assay.engines.model_validation.config import VERSION_RE
from assay.errors import AssayError, ConfigError
from assay_airflow.hooks.sql import data_source
from assay_airflow.operators.base import AssayOperator, raise_for, triggering_asset_extras

if TYPE_CHECKING:
    from airflow.sdk import Context

SUITE = "model_validation"
KIND = "model_validation"


def requested_version(context: Context, model: ModelConfig) -> str | None:
    """The version to validate: the newest Asset event's ``model_version`` extra, else the UI param."""
    events = triggering_asset_extras(context)
    if events:
        extras = events.get(model.asset)
        if not extras:
            return None
        version = extras[-1].get("model_version")
        if not version:
            raise ConfigError(f"the Asset event on {model.asset} carries no 'model_version' in its extra")
        return str(version)
    return context["params"].get("model_version") or None


def key_metrics(metrics, limit: int = 16) -> str:
    """The run's headline metrics on one line (``quality.accuracy=0.912, quality.roc_auc=0.95, ...``): the
    unlabelled ones (per-group and per-attribute figures stay in the store and on the run's page)."""
    shown = [f"{m.name}={m.value:.4g}" + (f" {m.unit}" if m.unit == "ms" else "") for m in metrics if not m.labels]
    more = f", and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


class ModelValidationOperator(AssayOperator):
    """Thresholds, regression against the accepted baseline, fairness, robustness and statistical
    validation of one version of ``model``. XCom: the validation summary."""

    template_fields = ("model",)

    def __init__(self, *, model: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.engines.model_validation import parse_job, run_model_validation

        started = datetime.now(UTC)
        params = context["params"]
        # every refusal below is recorded as this model's ERROR, as the per-commit DAG records bad params
        recorded = dict(
            kind=KIND,
            name=SUITE,
            started_at=started,
            target=self.model,
            summary={
                "params": {
                    k: params.get(k) for k in ("model", "model_version") if isinstance(params.get(k), (str, type(None)))
                }
            },
        )
        cfg = self.assay_config
        model = cfg.models.get(self.model)
        if model is None:
            known = ", ".join(sorted(cfg.models)) or "none"
            self.record_error(
                context,
                ConfigError(f"model {self.model!r} is not configured in assay.yaml (configured: {known})"),
                **recorded,
            )
        if not triggering_asset_extras(context) and params.get("model") not in (None, self.model):
            raise AirflowSkipException(f"this run validates {params.get('model')!r}")
        with self.recording_errors(context, **recorded):
            version = requested_version(context, model)
        if version is None:
            raise AirflowSkipException(f"no new version of {self.model!r} in this run")
        if not VERSION_RE.fullmatch(version):
            self.record_error(
                context,
                ConfigError(f"model_version {version!r} must be 1-100 letters, digits, '.', '_' or '-'"),
                **recorded,
            )
        spec = {"loader": model.loader, "sys_path": model.sys_path, "version": version}
        job_data = dict(model.job) | {
            "name": self.model,
            "candidate": spec | {"path": str(Path(model.versions_dir) / f"{version}{model.file_suffix}")},
        }
        evaluation = job_data.get("evaluation")
        if isinstance(evaluation, dict) and isinstance(evaluation.get("golden"), dict):
            # a golden dataset named by version without its folder is in data_quality.golden_dir
            golden = {"dir": cfg.data_quality.golden_dir} | {k: v for k, v in evaluation["golden"].items() if v}
            job_data["evaluation"] = evaluation | {"golden": golden}
        recorded["model_version"] = version
        with self.recording_errors(context, **recorded):
            store = self.metrics_hook.store
            store.ensure_schema()
            accepted = store.current_baseline(kind="model", subject=self.model)
            baseline_metrics, baseline_version = None, None
            if accepted is not None:
                _, run = accepted
                baseline_version = run.model_version
                baseline_metrics = {m.name: m.value for m in run.metrics if not m.labels}
                if baseline_version and baseline_version != version:
                    path = Path(model.versions_dir) / f"{baseline_version}{model.file_suffix}"
                    job_data["baseline"] = {
                        "loader": model.loader,
                        "sys_path": model.sys_path,
                        "version": baseline_version,
                        "path": str(path),
                    }
            job = parse_job(job_data)
            result = run_model_validation(job, baseline_metrics=baseline_metrics, baseline_version=baseline_version)
        reason = self.record_result(
            context, result, started_at=started, target=self.model, model_version=version, dataset=result.dataset
        )
        self.log.info("model %s version %s: %s: %s", self.model, version, result.status.value, reason)
        if key := key_metrics(result.metrics):
            self.log.info("metrics: %s", key)
        raise_for(result.status, f"model {self.model!r} version {version}: {result.status.value}: {reason}")
        return result.describe_dict()


class ABAnalysisOperator(AssayOperator):
    """Champion vs challenger from recorded experiment outcomes (z-test, Bayesian, power, sequential
    boundaries, multiple-comparison correction, guardrails). XCom: the analysis summary."""

    template_fields = ("experiment",)

    def __init__(self, *, experiment: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.experiment = experiment

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.engines.ab_testing import analyze_records, parse_ab_config

        started = datetime.now(UTC)
        recorded = dict(kind="ab_test", name=f"ab:{self.experiment}", started_at=started, dataset=self.experiment)
        exp = self.assay_config.ab_experiments.get(self.experiment)
        if exp is None:
            self.record_error(
                context, ConfigError(f"A/B experiment {self.experiment!r} is not configured in assay.yaml"), **recorded
            )
        try:
            frame = data_source(exp.source).read()  # stays columnar: no per-row Python objects
        except AssayError as exc:
            self.record_error(context, exc, **recorded)
        with self.recording_errors(context, **recorded):
            result = analyze_records(frame, parse_ab_config(exp.analysis), name=self.experiment)
        reason = self.record_result(context, result, started_at=started, dataset=self.experiment)
        raise_for(result.status, f"A/B experiment {self.experiment!r}: {result.decision}: {reason}")
        return result.describe_dict()
