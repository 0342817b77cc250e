"""The A/B config: validated, and a config that cannot work is a ConfigError."""

from __future__ import annotations

import pytest

from assay.engines.ab_testing import (
    parse_ab_config,
    sample_size_per_variant,
)
from assay.errors import ConfigError


@pytest.mark.parametrize(("power", "alpha"), [(0.03, 0.05), (0.05, 0.05), (0.2, 0.3)])
def test_power_not_above_alpha_is_a_config_error(power, alpha):
    with pytest.raises(ConfigError, match=rf"power \({power:g}\) must be greater than alpha \({alpha:g}\)"):
        parse_ab_config({"power": power, "alpha": alpha})
    with pytest.raises(ValueError, match="must be greater than alpha"):
        sample_size_per_variant(0.1, alpha, power)


def test_parse_ab_config():
    cfg = parse_ab_config(
        {
            "alpha": 0.01,
            "metrics": {"errors": {"role": "guardrail", "higher_is_better": False}},
            "sequential": {"planned_exposures_per_variant": 1000},
        }
    )
    assert cfg.metric("errors").role == "guardrail" and cfg.metric("other").role == "primary"
    with pytest.raises(ConfigError) as exc:
        parse_ab_config({"alpha": 2, "metrics": {"x": {"role": "tertiary"}}, "sequence": {}})
    text = str(exc.value)
    assert "alpha:" in text and "metrics.x.role" in text and "sequence: Extra inputs are not permitted" in text
