"""FGSM and Gaussian-noise robustness on the demo model's torch module."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.model_validation import LABEL, FixedModel, labelled_rows

from assay.engines.model_validation import RobustnessConfig
from assay.engines.model_validation.robustness import check_robustness, fgsm
from assay.engines.model_validation.scoring import score


def run(model, frame, **cfg):
    return check_robustness(model, frame, score(model, frame, LABEL), RobustnessConfig(**cfg))


def checks(section):
    return {c.name: c for c in section.checks}


def test_fgsm_on_a_linear_model_moves_against_the_label():
    """For logits = x @ W, the loss gradient's sign is known in closed form."""
    module = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        module.weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))  # class 1 likes x0 < x1
    x = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    y = torch.tensor([1, 0])
    adv = fgsm(module, x, y, 0.25)
    # pushing towards the wrong class: class-1 row gets x0 up / x1 down, the class-0 row the opposite
    torch.testing.assert_close(adv, torch.tensor([[0.25, 0.75], [0.75, 0.25]]))
    assert module.weight.grad is None  # parameters untouched
    loss = torch.nn.functional.cross_entropy
    assert loss(module(adv), y) > loss(module(x), y)


def test_demo_model_under_attack(good_model, eval_df):
    section = run(good_model, eval_df, fgsm_epsilon=0.1, noise_sigma=0.1)
    c = checks(section)
    clean = section.details["clean_accuracy"]
    assert clean == pytest.approx(float((good_model.pipeline.predict(eval_df) == eval_df[LABEL]).mean()))
    adv = c["robustness:fgsm_accuracy"].observed
    assert adv < clean and c["robustness:fgsm_accuracy"].status == ("PASS" if adv >= 0.7 else "FAIL")
    assert c["robustness:fgsm_accuracy"].threshold == 0.7 and "epsilon=0.1" in c["robustness:fgsm_accuracy"].message
    metrics = {m.name: m.value for m in section.metrics}
    assert metrics["robustness.fgsm_flipped"] > 0
    assert metrics["robustness.gaussian_noise_accuracy"] == c["robustness:gaussian_noise_accuracy"].observed


def test_stronger_attack_breaks_the_threshold(good_model, eval_df):
    weak = checks(run(good_model, eval_df, fgsm_epsilon=0.05))["robustness:fgsm_accuracy"].observed
    strong = checks(run(good_model, eval_df, fgsm_epsilon=1.5))
    assert strong["robustness:fgsm_accuracy"].observed < weak
    assert strong["robustness:fgsm_accuracy"].status == "FAIL"
    assert "breaks >= 0.7" in strong["robustness:fgsm_accuracy"].message


def test_noise_is_seeded(good_model, eval_df):
    a = run(good_model, eval_df, noise_sigma=0.8, seed=1).details
    values = [
        checks(run(good_model, eval_df, noise_sigma=0.8, seed=s))["robustness:gaussian_noise_accuracy"].observed
        for s in (1, 1, 2)
    ]
    assert values[0] == values[1] != values[2]
    assert a["sigma"] == 0.8


def test_training_mode_is_restored(good_pipeline, eval_df):
    from assay.engines.model_validation import PipelineAdapter

    model = PipelineAdapter(good_pipeline)
    model.torch_module.train()
    try:
        run(model, eval_df)
        assert model.torch_module.training
    finally:
        model.torch_module.eval()


def test_model_without_torch_view_is_error():
    frame = labelled_rows(np.array([0, 1]))
    [check] = run(FixedModel(np.array([0.2, 0.8])), frame).checks
    assert check.status == "ERROR" and "exposes no torch_module" in check.message


def test_adapter_that_disagrees_with_predict_proba_is_error(good_model, eval_df):
    class Liar:
        torch_module = good_model.torch_module

        def predict_proba(self, df):
            return 1 - good_model.predict_proba(df)

        def features(self, df):
            return good_model.features(df)

    [check] = run(Liar(), eval_df).checks
    assert check.status == "ERROR" and "agrees with predict_proba on only" in check.message


def test_features_failing_is_error(good_model, eval_df):
    class NoFeatures:
        torch_module = good_model.torch_module

        def predict_proba(self, df):
            return good_model.predict_proba(df)

        def features(self, df):
            raise KeyError("amount")

    [check] = run(NoFeatures(), eval_df).checks
    assert check.status == "ERROR" and "features(df) failed: KeyError" in check.message
