"""Loading model versions, training callables and evaluation frames; job parsing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from support.model_validation import DEMO, LABEL, LOADER, FixedModel

from assay.engines.model_validation import (
    EvaluationDataError,
    EvaluationDataSpec,
    ModelLoadError,
    ModelSpec,
    PipelineAdapter,
    ValidatableModel,
    as_validatable,
    load_callable,
    load_evaluation_frame,
    load_model,
    parse_job,
    run_model_validation,
)
from assay.engines.model_validation.loading import ProbaOnlyAdapter
from assay.errors import ConfigError


def spec(path, **kw) -> ModelSpec:
    return ModelSpec(path=str(path), sys_path=[str(DEMO)], **{"loader": LOADER} | kw)


def test_load_demo_artifact(artifacts, good_pipeline, eval_df):
    model = load_model(spec(artifacts["good"]))
    assert isinstance(model, PipelineAdapter) and isinstance(model, ValidatableModel)
    assert model.model_id == good_pipeline.model_id
    assert model.metadata == {"holdout_metrics": {"accuracy": 0.9}}
    assert model.feature_columns == good_pipeline.feature_columns
    np.testing.assert_array_equal(model.predict_proba(eval_df), good_pipeline.predict_proba(eval_df))


def test_adapter_torch_view_reproduces_predict_proba(good_model, eval_df):
    with torch.no_grad():
        logits = good_model.torch_module(torch.from_numpy(good_model.features(eval_df)))
    np.testing.assert_allclose(torch.softmax(logits, 1).numpy(), good_model.predict_proba(eval_df), atol=1e-6)
    assert good_model.features(eval_df).dtype == np.float32


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(spec(tmp_path / "v9.pt"))


def test_corrupt_model_file_names_the_cause(tmp_path):
    bad = tmp_path / "v2.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(
        ModelLoadError,
        match=r"fraud\.artifacts:load_pipeline could not load .*ArtifactError.*not a "
        r"readable model artifact",
    ):
        load_model(spec(bad))


def test_loader_returning_a_non_model(tmp_path):
    path = tmp_path / "anything.txt"
    path.write_text("x")
    with pytest.raises(ModelLoadError, match="no predict_proba"):
        load_model(ModelSpec(loader="pathlib:Path", path=str(path)))


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no_such_module_xyz:load", "cannot import 'no_such_module_xyz'"),
        ("fraud.artifacts:nope", "no callable 'nope'"),
        ("fraud.artifacts", "must name a callable"),
    ],
)
def test_bad_callable_refs(ref, message):
    with pytest.raises(ConfigError, match=message):
        load_callable(ref, [str(DEMO)])


def test_spec_rejects_malformed_loader():
    with pytest.raises(ValueError, match="package.module:function"):
        ModelSpec(loader="not a ref", path="x")


def test_as_validatable_choices(good_pipeline):
    assert isinstance(as_validatable(good_pipeline), PipelineAdapter)
    fixed = FixedModel(np.array([0.2]))
    assert as_validatable(fixed) is fixed  # already satisfies the protocol

    class ProbaOnly:
        def predict_proba(self, df):
            return np.full((len(df), 2), 0.5)

    adapted = as_validatable(ProbaOnly())
    assert isinstance(adapted, ProbaOnlyAdapter) and adapted.torch_module is None
    assert adapted.predict_proba(pd.DataFrame({"a": [1, 2]})).shape == (2, 2)
    with pytest.raises(TypeError, match="no feature transform"):
        adapted.features(pd.DataFrame())
    with pytest.raises(TypeError, match="has no predict_proba"):
        as_validatable(object())


def test_evaluation_frame_from_files(tmp_path, eval_df):
    small = eval_df.head(50).drop(columns=["event_time"])
    small.to_csv(tmp_path / "eval.csv", index=False)
    small.to_parquet(tmp_path / "eval.parquet")
    for name in ("eval.csv", "eval.parquet"):
        frame = load_evaluation_frame(EvaluationDataSpec(path=str(tmp_path / name)))
        pd.testing.assert_frame_equal(frame, small.reset_index(drop=True), check_dtype=False)


def test_evaluation_frame_from_factory():
    spec_ = EvaluationDataSpec(
        factory="fraud.data:make_fraud_dataset", kwargs={"n_rows": 30, "seed": 4}, sys_path=[str(DEMO)]
    )
    frame = load_evaluation_frame(spec_)
    assert len(frame) == 30 and "is_fraud" in frame


def test_evaluation_frame_errors(tmp_path):
    with pytest.raises(EvaluationDataError, match="does not exist"):
        load_evaluation_frame(EvaluationDataSpec(path=str(tmp_path / "none.csv")))
    (tmp_path / "eval.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"\.csv or \.parquet"):
        load_evaluation_frame(EvaluationDataSpec(path=str(tmp_path / "eval.json")))
    (tmp_path / "broken.parquet").write_bytes(b"nope")
    with pytest.raises(EvaluationDataError, match="cannot read evaluation file"):
        load_evaluation_frame(EvaluationDataSpec(path=str(tmp_path / "broken.parquet")))
    with pytest.raises(EvaluationDataError, match="n_rows must be >= 1"):
        load_evaluation_frame(
            EvaluationDataSpec(factory="fraud.data:make_fraud_dataset", kwargs={"n_rows": 0}, sys_path=[str(DEMO)])
        )
    with pytest.raises(EvaluationDataError, match="not a pandas DataFrame"):
        load_evaluation_frame(EvaluationDataSpec(factory="builtins:dict"))
    with pytest.raises(ValueError, match="exactly one of"):
        EvaluationDataSpec()


def test_parse_job_reports_dotted_paths():
    with pytest.raises(ConfigError) as exc:
        parse_job(
            {
                "candidate": {"path": "x", "lodaer": "a:b"},
                "evaluation": {"path": "e.csv"},
                "validation": {"quality": {"accuracy_min": 2}},
            }
        )
    text = str(exc.value)
    assert "candidate.lodaer: Extra inputs are not permitted" in text
    assert "validation.quality.accuracy_min" in text
    with pytest.raises(ConfigError, match="time_column"):
        parse_job(
            {
                "candidate": {"path": "x"},
                "evaluation": {"path": "e.csv"},
                "validation": {"statistical": {"schemes": ["temporal"]}},
            }
        )
    with pytest.raises(ConfigError, match="one label per band"):
        parse_job(
            {
                "candidate": {"path": "x"},
                "evaluation": {"path": "e.csv"},
                "validation": {"fairness": {"attributes": [{"column": "age", "bins": [0, 1, 2], "labels": ["a"]}]}},
            }
        )
    with pytest.raises(ConfigError, match="increasing edges"):
        parse_job(
            {
                "candidate": {"path": "x"},
                "evaluation": {"path": "e.csv"},
                "validation": {"fairness": {"attributes": [{"column": "age", "bins": [3, 1]}]}},
            }
        )
    with pytest.raises(ConfigError, match="train_fn"):
        parse_job({"candidate": {"path": "x"}, "evaluation": {"path": "e.csv"}, "train_fn": "nope"})


def test_the_loader_and_the_label_column_are_the_jobs_own_never_a_default():
    """No product default names a target's code or column: a job without them says which key to set."""
    with pytest.raises(ConfigError) as exc:
        parse_job({"candidate": {"path": "x"}, "evaluation": {"path": "e.csv"}})
    text = str(exc.value)
    assert "candidate.loader: Field required" in text and "validation: Field required" in text
    with pytest.raises(ConfigError, match=r"validation\.label_column: Field required"):
        parse_job(
            {
                "candidate": {"loader": LOADER, "path": "x"},
                "evaluation": {"path": "e.csv"},
                "validation": {"quality": {"accuracy_min": 0.5}},
            }
        )
    job = parse_job(
        {
            "candidate": {"loader": LOADER, "path": "x"},
            "evaluation": {"path": "e.csv"},
            "validation": {"label_column": LABEL},
        }
    )
    assert (job.candidate.loader, job.validation.label_column) == (LOADER, LABEL)


def test_unloadable_candidate_is_an_error_result(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"corrupt")
    job = parse_job(
        {
            "candidate": {"loader": LOADER, "path": str(bad), "sys_path": [str(DEMO)], "version": "v3"},
            "evaluation": {"factory": "fraud.data:make_fraud_dataset", "kwargs": {"n_rows": 20}},
            "validation": {"label_column": LABEL},
        }
    )
    result = run_model_validation(job)
    assert result.status.value == "ERROR" and result.model_version == "v3"
    [check] = result.checks
    assert check.name == "load:candidate_model" and "not a readable model artifact" in check.message
    assert result.describe_dict()["message"] == " ".join(check.message.split())  # the reason, on one line


def test_unreadable_evaluation_is_an_error_result(artifacts, tmp_path):
    job = parse_job(
        {
            "candidate": {"loader": LOADER, "path": str(artifacts["good"]), "sys_path": [str(DEMO)]},
            "evaluation": {"path": str(tmp_path / "missing.parquet")},
            "validation": {"label_column": LABEL},
        }
    )
    result = run_model_validation(job)
    assert result.status.value == "ERROR"
    assert [c.name for c in result.checks] == ["load:inputs"] and "does not exist" in result.checks[0].message
