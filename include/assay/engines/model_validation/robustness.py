"""Robustness: accuracy on FGSM adversarial examples and under Gaussian noise.

Both perturb the model's standardised features (``model.features(df)``, the input of
``model.torch_module``), so ``epsilon`` and ``sigma`` are in units of one standard deviation.
FGSM (Goodfellow et al. 2015): ``x_adv = x + epsilon * sign(grad_x cross_entropy(module(x), y))``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.nn import functional

from assay.engines.model_validation.config import RobustnessConfig
from assay.engines.model_validation.loading import ValidatableModel
from assay.engines.model_validation.results import SectionResult
from assay.engines.model_validation.scoring import Scored

_AGREEMENT_MIN = 0.99  # share of rows where the torch path must agree with predict_proba


def fgsm(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Fast-gradient-sign adversarial examples of ``x`` against labels ``y``."""
    x = x.clone().detach().requires_grad_(True)
    loss = functional.cross_entropy(module(x), y)
    (grad,) = torch.autograd.grad(loss, x)
    return (x + epsilon * grad.sign()).detach()


def _predict(module: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return module(x).argmax(dim=1).numpy()


def check_robustness(model: ValidatableModel, df: pd.DataFrame, scored: Scored, cfg: RobustnessConfig) -> SectionResult:
    """Adversarial and noisy accuracy as checks; ERROR when the model has no torch view to attack."""
    section = SectionResult("robustness")
    module = model.torch_module
    if module is None:
        section.error(
            "torch_module",
            f"{type(model).__name__} exposes no torch_module/features, so it cannot be "
            "attacked; adapt it to ValidatableModel",
        )
        return section
    was_training = module.training
    module.eval()
    try:
        try:
            x = torch.tensor(np.array(model.features(df), dtype=np.float32))
        except Exception as exc:
            section.error("features", f"features(df) failed: {type(exc).__name__}: {exc}")
            return section
        y = torch.tensor(np.array(scored.y_true), dtype=torch.long)
        clean = _predict(module, x)
        agreement = float((clean == scored.y_pred).mean())
        if agreement < _AGREEMENT_MIN:
            section.error(
                "torch_module",
                f"torch_module(features(df)) agrees with predict_proba on only "
                f"{agreement:.1%} of rows: the adapter does not describe the model",
            )
            return section
        adversarial = _predict(module, fgsm(module, x, y, cfg.fgsm_epsilon))
        generator = torch.Generator().manual_seed(cfg.seed)
        noisy = _predict(module, x + cfg.noise_sigma * torch.randn(x.shape, generator=generator))
    finally:
        module.train(was_training)
    truth = scored.y_true
    clean_acc = float((clean == truth).mean())
    section.metric("clean_accuracy", clean_acc, "ratio")
    for kind, pred, limit, param in (
        ("fgsm", adversarial, cfg.adversarial_accuracy_min, f"epsilon={cfg.fgsm_epsilon:g}"),
        ("gaussian_noise", noisy, cfg.noise_accuracy_min, f"sigma={cfg.noise_sigma:g}"),
    ):
        acc = float((pred == truth).mean())
        positives = truth == 1
        recall = float((pred[positives] == 1).mean()) if positives.any() else float("nan")
        section.metric(f"{kind}_accuracy", acc, "ratio", parameter=param)
        if np.isfinite(recall):
            section.metric(f"{kind}_recall", recall, "ratio", parameter=param)
        section.metric(f"{kind}_flipped", float((pred != clean).mean()), "ratio", parameter=param)
        section.threshold(
            f"{kind}_accuracy",
            acc,
            limit,
            ">=",
            f"accuracy under {kind.replace('_', ' ')} ({param}; clean {clean_acc:.4f})",
        )
    section.details = {"clean_accuracy": clean_acc, "epsilon": cfg.fgsm_epsilon, "sigma": cfg.noise_sigma}
    return section
