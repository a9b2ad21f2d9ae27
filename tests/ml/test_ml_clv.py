import math

import numpy as np
import pandas as pd
import pytest

from ml.clv import (
    BGNBDParams,
    GammaGammaParams,
    calibration_holdout_summary,
    customer_lifetime_value,
    expected_spend,
    expected_transactions,
    fit_bgnbd,
    fit_clv,
    fit_gamma_gamma,
    holdout_by_frequency,
    prob_alive,
    rfm_summary,
)
from ml.clv.bgnbd import log_likelihood

CAL_END, HOLD_END = "1997-09-30", "1998-06-30"  # 39 + 39 weeks, as in FHL 2005


def same_to_2_sig_figs(fitted: float, published: float) -> bool:
    # Within half a unit of the published value's second significant figure.
    half_unit = 0.5 * 10 ** (math.floor(math.log10(abs(published))) - 1)
    return abs(fitted - published) <= half_unit


@pytest.fixture(scope="module")
def cdnow(cdnow_transactions):
    return calibration_holdout_summary(cdnow_transactions, CAL_END, HOLD_END, time_unit="weeks")


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def gamma_gamma(cdnow):
    return fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"])


def test_summary_matches_fader_hardie_calibration_file(cdnow, cdnow_reference_summary):
    ref = cdnow_reference_summary
    assert len(cdnow) == 2357
    assert (cdnow["customer_key"].to_numpy() == ref["ID"].to_numpy()).all()
    assert (cdnow["frequency"].to_numpy() == ref["x"].to_numpy()).all()
    # The reference file is rounded to 2 decimals.
    assert np.allclose(cdnow["recency"], ref["t_x"], atol=0.006)
    assert np.allclose(cdnow["T"], ref["T"], atol=0.006)
    assert np.allclose(cdnow["monetary_value"], ref["zbar"], atol=0.006)


def test_bgnbd_matches_published_cdnow_estimates(bgnbd):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert same_to_2_sig_figs(getattr(bgnbd, name), value), (name, getattr(bgnbd, name), value)
    assert bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)  # FHL 2005, section 5


def test_gamma_gamma_matches_published_cdnow_estimates(gamma_gamma):
    assert gamma_gamma.n_customers == 946
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    for name, value in published.items():
        assert same_to_2_sig_figs(getattr(gamma_gamma, name), value), (name, getattr(gamma_gamma, name), value)


def test_conditional_expectation_matches_fader_hardie_worked_example():
    # FHL's worked example: x=2, t_x=30.43, T=38.86 -> 1.226 purchases in the next 39 weeks.
    p = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    assert expected_transactions(p, 39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=5e-4)


def test_log_likelihood_is_finite_for_very_frequent_buyers():
    # Both likelihood terms underflow to 0 in linear space here; logs must survive.
    ll = log_likelihood(0.243, 4.414, 0.793, 2.426, np.array([800.0]), np.array([700.0]), np.array([730.0]))
    assert np.isfinite(ll).all()


def test_prob_alive_rules():
    p = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    no_repeat = prob_alive(p, [0], [0], [30])
    recent = prob_alive(p, [5], [29], [30])
    lapsed = prob_alive(p, [5], [2], [30])
    assert no_repeat[0] == 1.0  # BG/NBD: nobody drops out before a repeat purchase
    assert recent[0] > 0.8 > 0.2 > lapsed[0]


def test_holdout_predictions_track_actuals_by_frequency(cdnow, bgnbd):
    pred = expected_transactions(bgnbd, cdnow["duration_holdout"], cdnow["frequency"], cdnow["recency"], cdnow["T"])
    table = holdout_by_frequency(cdnow, pred)
    assert list(table["frequency_bucket"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["n_customers"].sum() == 2357
    assert table["predicted"].is_monotonic_increasing
    assert np.corrcoef(table["predicted"], table["actual"])[0, 1] > 0.98
    # FHL 2005 Fig. 4: predictions sit close to actuals, slightly low for x = 1, 2.
    assert pred.sum() == pytest.approx(cdnow["frequency_holdout"].sum(), rel=0.15)


def test_expected_spend_shrinks_towards_population_mean():
    gg = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population = gg.p * gg.gamma / (gg.q - 1)
    one, many = expected_spend(gg, [1, 50], [100.0, 100.0])
    assert population < one < many < 100.0
    assert expected_spend(gg, [0], [0.0])[0] == pytest.approx(population)


def test_clv_discounting_and_horizon(cdnow, bgnbd, gamma_gamma):
    undiscounted = customer_lifetime_value(cdnow, bgnbd, gamma_gamma, 12, 0.0)
    discounted = customer_lifetime_value(cdnow, bgnbd, gamma_gamma, 12, 0.02)
    longer = customer_lifetime_value(cdnow, bgnbd, gamma_gamma, 24, 0.02)
    assert list(discounted.columns) == ["customer_key", "prob_alive", "expected_purchases", "expected_spend", "clv"]
    np.testing.assert_allclose(
        undiscounted["clv"], undiscounted["expected_purchases"] * undiscounted["expected_spend"], rtol=1e-9
    )
    assert (discounted["clv"] < undiscounted["clv"]).all()
    assert (longer["clv"] > discounted["clv"]).all()


def test_time_unit_is_only_a_convention(cdnow_transactions):
    weeks = rfm_summary(cdnow_transactions, CAL_END, time_unit="weeks")
    days = rfm_summary(cdnow_transactions, CAL_END, time_unit="days")
    np.testing.assert_allclose(days["T"], weeks["T"] * 7)
    p_w = fit_bgnbd(weeks["frequency"], weeks["recency"], weeks["T"])
    p_d = fit_bgnbd(days["frequency"], days["recency"], days["T"])
    assert p_d.r == pytest.approx(p_w.r, rel=1e-3)
    assert p_d.alpha == pytest.approx(p_w.alpha * 7, rel=1e-3)  # alpha is a time scale
    gg = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    clv_w = customer_lifetime_value(weeks, p_w, gg, 6, 0.01, time_unit="weeks")
    clv_d = customer_lifetime_value(days, p_d, gg, 6, 0.01, time_unit="days")
    np.testing.assert_allclose(clv_d["clv"], clv_w["clv"], rtol=1e-2)


def test_summary_rules_on_a_tiny_example():
    tx = pd.DataFrame(
        {
            "customer_key": ["a", "a", "a", "a", "b", "c"],
            "date": pd.to_datetime(
                ["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-08 00:00", "2024-01-15 23:59", "2024-01-10 12:00", "2024-02-01 08:00"]
            ),
            "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 9.0],
        }
    )
    s = rfm_summary(tx, "2024-01-15", time_unit="days").set_index("customer_key")
    assert "c" not in s.index  # not yet acquired at the calibration end
    assert s.loc["a", "frequency"] == 2  # two orders on 1 Jan are one occasion
    assert s.loc["a", "monetary_value"] == pytest.approx(30.0)  # first purchase excluded
    assert (s.loc["a", "recency"], s.loc["a", "T"]) == (14.0, 14.0)
    assert (s.loc["b", "frequency"], s.loc["b", "monetary_value"], s.loc["b", "T"]) == (0, 0.0, 5.0)


def test_bad_inputs_are_named():
    with pytest.raises(KeyError, match="amount"):
        rfm_summary(pd.DataFrame({"customer_key": [1], "date": ["2024-01-01"]}), "2024-01-02")
    with pytest.raises(ValueError, match="time_unit"):
        rfm_summary(pd.DataFrame({"customer_key": [1], "date": ["2024-01-01"], "amount": [1.0]}), "2024-01-02", "months")


def test_fit_clv_one_call(cdnow_transactions, bgnbd):
    frame, bg, gg = fit_clv(cdnow_transactions, CAL_END, horizon_months=6)
    assert {"customer_key", "frequency", "recency", "T", "monetary_value", "prob_alive", "clv"} <= set(frame.columns)
    assert len(frame) == 2357 and (frame["clv"] >= 0).all()
    assert bg.r == pytest.approx(bgnbd.r, rel=1e-4)


def test_non_positive_spend_gets_population_mean():
    gg = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    assert expected_spend(gg, [3], [0.0])[0] == pytest.approx(gg.p * gg.gamma / (gg.q - 1))
