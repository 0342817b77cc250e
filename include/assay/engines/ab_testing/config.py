"""The A/B analysis config: variants, significance and power, the Bayesian prior, metric roles, and the
optional sequential plan. Validated with pydantic; a bad key or value is a ConfigError naming its path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ABMetricConfig(_Strict):
    role: Literal["primary", "guardrail"] = "primary"
    higher_is_better: bool = True


class SequentialConfig(_Strict):
    """Planned looks at equal information fractions of ``planned_exposures_per_variant``."""

    planned_exposures_per_variant: int = Field(gt=0)
    looks: int = Field(5, ge=1, le=50)
    spending: Literal["obrien_fleming", "pocock"] = "obrien_fleming"


class ABTestConfig(_Strict):
    champion: str = "champion"
    challenger: str = "challenger"
    alpha: float = Field(0.05, gt=0, lt=0.5)
    power: float = Field(0.8, gt=0, lt=1)
    minimum_detectable_effect: float = Field(0.01, gt=0, lt=1)  # absolute difference of rates
    ci_method: Literal["newcomb", "wald"] = "newcomb"
    correction: Literal["holm", "fdr_bh", "none"] = "holm"
    prob_better_threshold: float = Field(0.95, gt=0.5, lt=1)
    prior_alpha: float = Field(1.0, gt=0)
    prior_beta: float = Field(1.0, gt=0)
    monte_carlo_draws: int = Field(200_000, ge=1000, le=10_000_000)
    seed: int = 0
    metrics: dict[str, ABMetricConfig] = Field(default_factory=dict)  # unlisted metrics: primary, higher better
    sequential: SequentialConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ABTestConfig:
        if self.champion == self.challenger:
            raise ValueError("champion and challenger must be different variant names")
        if self.power <= self.alpha:
            raise ValueError(
                f"power ({self.power:g}) must be greater than alpha ({self.alpha:g}): a level-alpha test already "
                "rejects with probability alpha when there is no effect, so no sample size gives less power"
            )
        return self

    def metric(self, name: str) -> ABMetricConfig:
        return self.metrics.get(name, ABMetricConfig())


def parse_ab_config(data: Mapping[str, Any]) -> ABTestConfig:
    """Validate an A/B config mapping; a bad key or value raises ConfigError naming its dotted path."""
    try:
        return ABTestConfig.model_validate(dict(data))
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in err['loc']) or '<config>'}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("invalid A/B test config:\n  " + "\n  ".join(lines)) from None
