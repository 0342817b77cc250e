"""Settings from the environment, and which model the API serves (trained, loaded from a file, none)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from api_helpers import RECORD, Api
from serving.errors import SettingsError
from serving.model_loader import load_model, load_pipeline_file
from serving.settings import Settings, default_db_url

pytestmark = pytest.mark.component


def test_settings_from_env_reads_every_variable(tmp_path: Path) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(b"x")
    settings = Settings.from_env(
        {
            "DEMO_DB_URL": "postgresql+psycopg2://u@127.0.0.1/registry",
            "DEMO_MODEL_PATH": str(model),
            "DEMO_TRAIN_MODEL": "no",
            "DEMO_TEST_MODE": "on",
            "DEMO_RATE_LIMIT_PER_S": "2.5",
            "DEMO_RATE_LIMIT_BURST": "7",
            "DEMO_TIMINGS_CAPACITY": "10",
        }
    )
    assert settings.db_url == "postgresql+psycopg2://u@127.0.0.1/registry"
    assert (settings.model_path, settings.train_model, settings.test_mode) == (str(model), False, True)
    assert (settings.rate_limit_per_s, settings.rate_limit_burst, settings.timings_capacity) == (2.5, 7, 10)
    defaults = Settings.from_env({})
    assert defaults.db_url == default_db_url() and defaults.test_mode is False and len(defaults.tokens) == 3


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEMO_TEST_MODE": "perhaps"}, "DEMO_TEST_MODE='perhaps' is not a boolean"),
        ({"DEMO_RATE_LIMIT_PER_S": "fast"}, "DEMO_RATE_LIMIT_PER_S='fast' is not a valid float"),
        ({"DEMO_RATE_LIMIT_PER_S": "0"}, "rate_limit_per_s must be > 0"),
        ({"DEMO_RATE_LIMIT_BURST": "0"}, "rate_limit_burst must be >= 1"),
        ({"DEMO_TIMINGS_CAPACITY": "0"}, "timings_capacity must be >= 1"),
        ({"DEMO_MODEL_PATH": "/no/such/model.pt"}, "model_path '/no/such/model.pt' is not a file"),
        ({"DEMO_DB_URL": "  "}, "db_url is empty"),
    ],
)
def test_bad_settings_say_what_to_fix(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_without_model_path_or_training_nothing_is_served() -> None:
    assert load_model(Settings(train_model=False)) is None


def test_startup_training_is_seeded_and_good_enough(tmp_path: Path) -> None:
    from fraud import make_fraud_dataset

    first = load_model(Settings(db_url=f"sqlite:///{tmp_path / 'a.db'}"))
    second = load_model(Settings(db_url=f"sqlite:///{tmp_path / 'a.db'}"))
    assert first is not None and second is not None and first.model_id == second.model_id
    assert first.evaluate(make_fraud_dataset(1000, seed=5, fraud_rate=0.2))["accuracy"] >= 0.85


def test_serves_a_model_saved_with_fraud_artifacts(tmp_path: Path, start_api, demo_pipeline) -> None:
    artifacts = pytest.importorskip("fraud.artifacts")
    path = artifacts.save_pipeline(demo_pipeline, tmp_path / "model.pt")
    api: Api = start_api(with_model=False, model_path=str(path))  # nothing injected: loaded from the file
    assert api.client().get("/health").json()["model_id"] == demo_pipeline.model_id
    body = api.client("reader").post("/models/predict", json=RECORD).json()
    assert body["model_id"] == demo_pipeline.model_id


def test_an_unreadable_model_file_is_a_settings_error(tmp_path: Path) -> None:
    pytest.importorskip("fraud.artifacts")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(SettingsError, match="cannot load the model at model_path .*junk.pt"):
        load_pipeline_file(str(junk))


def test_model_path_without_fraud_artifacts_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "fraud.artifacts", None)  # as if the module did not exist
    with pytest.raises(SettingsError, match="no fraud.artifacts.load_pipeline"):
        load_pipeline_file(str(tmp_path / "model.pt"))
