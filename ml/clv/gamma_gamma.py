"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV").

Each transaction's value is Gamma(p, nu); nu varies across customers as
Gamma(q, gamma). Fitted on customers with at least one repeat purchase, using
the mean value of their repeat purchases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import digamma, gammaln

from ml.clv._optim import maximise_log_params


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")
    n_customers: int = 0
    converged: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def _repeaters(frequency, monetary_value):
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    if x.shape != m.shape:
        raise ValueError("frequency and monetary_value must have the same length")
    keep = x > 0
    if np.any(m[keep] <= 0):
        raise ValueError(
            "monetary_value must be > 0 for customers with repeat purchases; "
            "drop refunds/zero-value orders before summarising"
        )
    return x[keep], m[keep]


def log_likelihood(p, q, gamma, frequency, monetary_value) -> np.ndarray:
    """Log density of the mean repeat spend z given x purchases (FHL 2005 RFM note, eq. 3)."""
    x = np.asarray(frequency, dtype=float)
    z = np.asarray(monetary_value, dtype=float)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + px * np.log(x)
        + (px - 1.0) * np.log(z)
        - (px + q) * np.log(gamma + x * z)
    )


def log_likelihood_gradient(p, q, gamma, frequency, monetary_value) -> np.ndarray:
    """Mean gradient of ``log_likelihood`` over (p, q, gamma), shape (3,)."""
    x = np.asarray(frequency, dtype=float)
    z = np.asarray(monetary_value, dtype=float)
    px = p * x
    spend = gamma + x * z
    d_p = x * (digamma(px + q) - digamma(px) + np.log(x) + np.log(z) - np.log(spend))
    d_q = digamma(px + q) - digamma(q) + np.log(gamma) - np.log(spend)
    d_gamma = q / gamma - (px + q) / spend
    return np.array([d_p.mean(), d_q.mean(), d_gamma.mean()])


def fit_gamma_gamma(frequency, monetary_value) -> GammaGammaParams:
    """Maximum-likelihood (p, q, gamma); customers with frequency 0 are ignored."""
    x, z = _repeaters(frequency, monetary_value)
    if x.size < 3:
        raise ValueError(f"need at least 3 customers with repeat purchases, got {x.size}")

    def nll(theta: np.ndarray) -> float:
        p, q, g = np.exp(theta)
        return -float(np.mean(log_likelihood(p, q, g, x, z)))

    def nll_gradient(theta: np.ndarray) -> np.ndarray:
        params = np.exp(theta)
        return -params * log_likelihood_gradient(*params, x, z)

    # gamma scales with the currency unit; starting it at the mean spend keeps the
    # first iterations well-conditioned for cents as well as thousands.
    x0 = np.array([0.0, 0.0, np.log(np.mean(z))])
    theta, fun, ok = maximise_log_params(nll, 3, x0, gradient=nll_gradient)
    p, q, g = np.exp(theta)
    return GammaGammaParams(float(p), float(q), float(g), -fun * x.size, int(x.size), ok)


def expected_spend(params: GammaGammaParams, frequency, monetary_value) -> np.ndarray:
    """E[value of a future transaction | x, zbar]; population mean for x == 0.

    The conditional mean is a weighted average of the population mean p*gamma/(q-1)
    and the customer's own mean, weighted by how many purchases we have seen.
    """
    z = np.asarray(monetary_value, dtype=float)
    # A non-positive mean spend is no evidence about spend rate; treat it like no
    # repeat purchases (population mean) instead of shrinking the estimate to zero.
    x = np.where(z > 0, np.asarray(frequency, dtype=float), 0.0)
    p, q, g = params.p, params.q, params.gamma
    if q <= 1:
        raise ValueError(f"Gamma-Gamma q={q:.3f} <= 1: the mean spend is infinite; check the input amounts")
    return (g + x * z) * p / (p * x + q - 1.0)
