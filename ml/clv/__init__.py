"""Customer lifetime value: BG/NBD purchase counts x Gamma-Gamma spend."""

from ml.clv.bgnbd import BGNBDParams, expected_transactions, fit_bgnbd, prob_alive
from ml.clv.gamma_gamma import GammaGammaParams, expected_spend, fit_gamma_gamma
from ml.clv.summary import (
    PURCHASE_DAY_COLUMNS,
    calibration_holdout_summary,
    holdout_by_frequency,
    rfm_summary,
    summary_from_purchase_days,
    with_holdout,
)
from ml.clv.value import customer_lifetime_value, fit_clv, fit_clv_models

__all__ = [
    "PURCHASE_DAY_COLUMNS",
    "BGNBDParams",
    "GammaGammaParams",
    "calibration_holdout_summary",
    "customer_lifetime_value",
    "expected_spend",
    "expected_transactions",
    "fit_bgnbd",
    "fit_clv",
    "fit_clv_models",
    "fit_gamma_gamma",
    "holdout_by_frequency",
    "prob_alive",
    "rfm_summary",
    "summary_from_purchase_days",
    "with_holdout",
]
