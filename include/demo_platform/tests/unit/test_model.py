"""Unit tests for FraudClassifier."""

from __future__ import annotations

import pytest
import torch
from fraud.model import FraudClassifier

pytestmark = pytest.mark.unit

INPUT_DIM = 6


@pytest.fixture()
def model() -> FraudClassifier:
    torch.manual_seed(0)
    return FraudClassifier(INPUT_DIM, hidden=(16, 8))


def test_batch_output_shape(model: FraudClassifier) -> None:
    logits = model(torch.randn(5, INPUT_DIM))
    assert logits.shape == (5, 2)
    assert torch.isfinite(logits).all()


def test_single_sample_returns_one_row(model: FraudClassifier) -> None:
    model.eval()
    x = torch.randn(INPUT_DIM)
    assert model(x).shape == (1, 2)
    torch.testing.assert_close(model(x), model(x.unsqueeze(0)))


def test_wrong_input_shape_raises(model: FraudClassifier) -> None:
    with pytest.raises(ValueError, match="expected shape"):
        model(torch.randn(4, INPUT_DIM + 1))
    with pytest.raises(ValueError):
        FraudClassifier(0)


def test_gradients_reach_every_parameter(model: FraudClassifier) -> None:
    logits = model(torch.randn(32, INPUT_DIM))
    torch.nn.functional.cross_entropy(logits, torch.randint(0, 2, (32,))).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_eval_mode_is_deterministic(model: FraudClassifier) -> None:
    x = torch.randn(64, INPUT_DIM)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)


def test_train_mode_applies_dropout(model: FraudClassifier) -> None:
    x = torch.randn(64, INPUT_DIM)
    model.train()
    assert not torch.equal(model(x), model(x))
