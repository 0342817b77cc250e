"""Frequentist tests: the z-test, the confidence interval and the correction across metrics, against
statsmodels (1e-9) and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportions_ztest,
)

from assay.engines.ab_testing import (
    adjust_pvalues,
    diff_confint,
    two_proportion_ztest,
)

CASES = [(120, 1000, 100, 1000), (5, 40, 1, 37), (0, 100, 3, 90), (4810, 50_000, 5002, 50_000), (33, 33, 20, 31)]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_ztest_matches_statsmodels(case, alternative):
    x1, n1, x2, n2 = case
    z, p = two_proportion_ztest(x1, n1, x2, n2, alternative)
    z_sm, p_sm = proportions_ztest([x1, x2], [n1, n2], alternative=alternative)
    assert z == pytest.approx(z_sm, abs=1e-9) and p == pytest.approx(p_sm, abs=1e-9)


def test_ztest_vectorised_and_degenerate():
    x1, n1, x2, n2 = (np.array(v) for v in zip(*CASES, strict=True))
    z, p = two_proportion_ztest(x1, n1, x2, n2)
    expected = np.array([proportions_ztest([a, b], [c, d])[0] for a, c, b, d in CASES])
    np.testing.assert_allclose(z, expected, atol=1e-9)
    assert two_proportion_ztest(0, 50, 0, 70) == (0.0, 1.0)  # no variance: no evidence


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["newcomb", "wald"])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_confint_matches_statsmodels(case, method, alpha):
    x1, n1, x2, n2 = case
    ours = diff_confint(x1, n1, x2, n2, alpha, method)
    theirs = confint_proportions_2indep(x1, n1, x2, n2, method=method, compare="diff", alpha=alpha)
    np.testing.assert_allclose(ours, theirs, atol=1e-9, rtol=0)


@pytest.mark.slow
def test_holm_and_bh_by_hand():
    reject, adjusted = adjust_pvalues([0.01, 0.04, 0.03], 0.05, "holm")
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06])
    assert reject.tolist() == [True, False, False]
    reject, adjusted = adjust_pvalues([0.01, 0.04, 0.03], 0.05, "fdr_bh")
    np.testing.assert_allclose(adjusted, [0.03, 0.04, 0.04])
    assert reject.tolist() == [True, True, True]
    reject, adjusted = adjust_pvalues([0.01, 0.06], 0.05, "none")
    assert adjusted.tolist() == [0.01, 0.06] and reject.tolist() == [True, False]
    for method in ("holm", "fdr_bh"):  # one p-value: statsmodels is skipped, the result is the same
        sm_reject, sm_adjusted, _, _ = multipletests([0.03], alpha=0.05, method=method)
        reject, adjusted = adjust_pvalues([0.03], 0.05, method)
        assert adjusted.tolist() == sm_adjusted.tolist() and reject.tolist() == sm_reject.tolist()
