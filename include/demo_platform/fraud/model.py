"""A small multi-layer perceptron that scores transactions."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class FraudClassifier(nn.Module):
    """MLP mapping (batch, input_dim) features to (batch, 2) logits [legit, fraud]."""

    def __init__(self, input_dim: int, hidden: Sequence[int] = (32, 16), dropout: float = 0.1) -> None:
        super().__init__()
        if input_dim < 1:
            raise ValueError(f"input_dim must be >= 1, got {input_dim}")
        self.input_dim = input_dim
        layers: list[nn.Module] = []
        width = input_dim
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits; a single sample of shape (input_dim,) yields shape (1, 2)."""
        if x.dim() == 1:
            x = x.unsqueeze(0)
        if x.dim() != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"expected shape (batch, {self.input_dim}), got {tuple(x.shape)}")
        return self.net(x)
