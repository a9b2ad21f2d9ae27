"""Discounted customer lifetime value from fitted BG/NBD and Gamma-Gamma models."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.clv.bgnbd import BGNBDParams, expected_transactions, fit_bgnbd, prob_alive
from ml.clv.gamma_gamma import GammaGammaParams, expected_spend, fit_gamma_gamma
from ml.clv.summary import _unit_days, rfm_summary

DAYS_PER_MONTH = 365.25 / 12

CLV_COLUMNS = ["customer_key", "prob_alive", "expected_purchases", "expected_spend", "clv"]


def customer_lifetime_value(
    summary: pd.DataFrame,
    bgnbd: BGNBDParams,
    gamma_gamma: GammaGammaParams,
    horizon_months: int = 12,
    monthly_discount_rate: float = 0.01,
    time_unit: str = "weeks",
) -> pd.DataFrame:
    """Expected discounted value of each customer's purchases over the next months.

    Input: an ``rfm_summary`` frame (customer_key, frequency, recency, T,
    monetary_value) in ``time_unit``, the unit the models were fitted in.
    Output columns: customer_key, prob_alive, expected_purchases (undiscounted, whole
    horizon), expected_spend (per purchase), clv (discounted, currency of amounts).

    Purchases are bucketed by month and each month's expected purchases are
    discounted at the end of that month, the usual discrete approximation to
    continuous discounting.
    """
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be >= 1, got {horizon_months}")
    if monthly_discount_rate < 0:
        raise ValueError(f"monthly_discount_rate must be >= 0, got {monthly_discount_rate}")
    month = DAYS_PER_MONTH / _unit_days(time_unit)
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["recency"].to_numpy(dtype=float)
    T = summary["T"].to_numpy(dtype=float)

    cumulative = np.column_stack(
        [np.zeros_like(x)]
        + [expected_transactions(bgnbd, i * month, x, t_x, T) for i in range(1, horizon_months + 1)]
    )
    per_month = np.diff(cumulative, axis=1)
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, horizon_months + 1)
    spend = expected_spend(gamma_gamma, x, summary["monetary_value"].to_numpy(dtype=float))

    return pd.DataFrame(
        {
            "customer_key": summary["customer_key"].to_numpy(),
            "prob_alive": prob_alive(bgnbd, x, t_x, T),
            "expected_purchases": cumulative[:, -1],
            "expected_spend": spend,
            "clv": spend * (per_month @ discount),
        }
    )


def fit_clv(
    transactions: pd.DataFrame,
    as_of,
    horizon_months: int = 12,
    monthly_discount_rate: float = 0.01,
    time_unit: str = "weeks",
    customer_col: str = "customer_key",
    date_col: str = "date",
    amount_col: str = "amount",
) -> tuple[pd.DataFrame, BGNBDParams, GammaGammaParams]:
    """One call from the transactions: summarise up to ``as_of``, fit both models, score.

    Returns (frame with the rfm_summary columns + CLV_COLUMNS, BG/NBD params,
    Gamma-Gamma params). Every purchase day counts for BG/NBD, but Gamma-Gamma
    models strictly positive spend, so customers whose repeat purchases average
    <= 0 (free orders, refunds netted in) are left out of its fit and get the
    population mean spend.
    """
    summary = rfm_summary(transactions, as_of, time_unit, customer_col, date_col, amount_col)
    bg, gg = fit_clv_models(summary)
    clv = customer_lifetime_value(summary, bg, gg, horizon_months, monthly_discount_rate, time_unit)
    return summary.merge(clv, on="customer_key"), bg, gg


def fit_clv_models(summary: pd.DataFrame) -> tuple[BGNBDParams, GammaGammaParams]:
    """BG/NBD and Gamma-Gamma fitted on an ``rfm_summary`` (see ``fit_clv`` for who Gamma-Gamma leaves out)."""
    bg = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    spenders = summary["frequency"].where(summary["monetary_value"] > 0, 0)
    gg = fit_gamma_gamma(spenders, summary["monetary_value"])
    return bg, gg
