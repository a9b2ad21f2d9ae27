"""BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha);
after each purchase they drop out with probability p ~ Beta(a, b).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from ml.clv._optim import maximise_log_params


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")  # total over customers
    n_customers: int = 0
    converged: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def _as_arrays(frequency, recency, T):
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    T_ = np.asarray(T, dtype=float)
    if not (x.shape == t_x.shape == T_.shape):
        raise ValueError("frequency, recency and T must have the same length")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T_ + 1e-9):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T for every customer")
    return x, t_x, T_


def log_likelihood(r, alpha, a, b, frequency, recency, T) -> np.ndarray:
    """Per-customer log-likelihood, FHL 2005 eq. (6), evaluated in logs.

    The two terms of the likelihood are combined with logaddexp: for frequent buyers
    both are far below the smallest double, so summing them in linear space would
    give log(0).
    """
    x, t_x, T_ = _as_arrays(frequency, recency, T)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    alive_term = betaln(a, b + x) - (r + x) * np.log(alpha + T_)
    repeat = x > 0
    dropped_term = np.full_like(x, -np.inf)
    # Only defined for x > 0 (b + x - 1 must be positive); zero-repeat customers
    # cannot have dropped out after a purchase they never made.
    dropped_term[repeat] = betaln(a + 1.0, b + x[repeat] - 1.0) - (r + x[repeat]) * np.log(
        alpha + t_x[repeat]
    )
    return common + np.logaddexp(alive_term, dropped_term)


def log_likelihood_gradient(r, alpha, a, b, frequency, recency, T) -> np.ndarray:
    """Mean gradient of ``log_likelihood`` over (r, alpha, a, b), shape (4,).

    The two terms combine through logaddexp, so each term's derivative is weighted by its share
    of the likelihood (a softmax of the two log terms); d betaln(u, v)/du = psi(u) - psi(u + v).
    """
    x, t_x, T_ = _as_arrays(frequency, recency, T)
    alive = betaln(a, b + x) - (r + x) * np.log(alpha + T_)
    repeat = x > 0
    dropped = np.full_like(x, -np.inf)
    dropped[repeat] = betaln(a + 1.0, b + x[repeat] - 1.0) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    total = np.logaddexp(alive, dropped)
    w_alive, w_dropped = np.exp(alive - total), np.exp(dropped - total)
    psi_abx = digamma(a + b + x)
    # b + x - 1 is only positive for repeat buyers; their weight is 0 elsewhere
    b_dropped = np.where(repeat, b + x - 1.0, 1.0)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w_alive * np.log(alpha + T_) \
        - w_dropped * np.log(alpha + np.where(repeat, t_x, T_))
    d_alpha = r / alpha - w_alive * (r + x) / (alpha + T_) - w_dropped * (r + x) / (alpha + np.where(repeat, t_x, T_))
    d_a = -(digamma(a) - digamma(a + b)) + w_alive * (digamma(a) - psi_abx) + w_dropped * (digamma(a + 1.0) - psi_abx)
    d_b = -(digamma(b) - digamma(a + b)) + w_alive * (digamma(b + x) - psi_abx) \
        + w_dropped * (digamma(b_dropped) - psi_abx)
    return np.array([d_r.mean(), d_alpha.mean(), d_a.mean(), d_b.mean()])


def fit_bgnbd(frequency, recency, T, start: tuple[float, float, float, float] | None = None) -> BGNBDParams:
    """Maximum-likelihood fit of (r, alpha, a, b) on calibration summaries."""
    x, t_x, T_ = _as_arrays(frequency, recency, T)
    if x.size == 0:
        raise ValueError("cannot fit BG/NBD on zero customers")

    def nll(theta: np.ndarray) -> float:
        r, alpha, a, b = np.exp(theta)
        return -float(np.mean(log_likelihood(r, alpha, a, b, x, t_x, T_)))

    def nll_gradient(theta: np.ndarray) -> np.ndarray:
        params = np.exp(theta)
        # chain rule for log-parameters: d/d log(u) = u * d/du
        return -params * log_likelihood_gradient(*params, x, t_x, T_)

    # Start alpha near the time scale of the data so the first steps are sensible
    # whether time is in days or weeks.
    x0 = np.log(start) if start is not None else np.array([0.0, np.log(max(np.mean(T_), 1e-3) / 10), 0.0, 0.0])
    theta, fun, ok = maximise_log_params(nll, 4, x0, gradient=nll_gradient)
    r, alpha, a, b = np.exp(theta)
    return BGNBDParams(float(r), float(alpha), float(a), float(b), -fun * x.size, int(x.size), ok)


def _alive_odds_term(p: BGNBDParams, x, t_x, T_) -> np.ndarray:
    # a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x); zero when x == 0.
    out = np.zeros_like(x)
    m = x > 0
    out[m] = np.exp(
        np.log(p.a)
        - np.log(p.b + x[m] - 1.0)
        + (p.r + x[m]) * (np.log(p.alpha + T_[m]) - np.log(p.alpha + t_x[m]))
    )
    return out


def prob_alive(params: BGNBDParams, frequency, recency, T) -> np.ndarray:
    """P(customer still active at T | history), FHL 2005 eq. (11)."""
    x, t_x, T_ = _as_arrays(frequency, recency, T)
    return 1.0 / (1.0 + _alive_odds_term(params, x, t_x, T_))


def expected_transactions(params: BGNBDParams, t, frequency, recency, T) -> np.ndarray:
    """Expected purchases in (T, T + t] given each customer's history, FHL 2005 eq. (10).

    ``t`` is in the same time unit as recency and T (scalar or per-customer array).
    """
    x, t_x, T_ = _as_arrays(frequency, recency, T)
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    p = params
    z = t / (p.alpha + T_ + t)
    ratio_pow = np.exp((p.r + x) * (np.log(p.alpha + T_) - np.log(p.alpha + T_ + t)))
    numer = (p.a + p.b + x - 1.0) / (p.a - 1.0) * (
        1.0 - ratio_pow * hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1.0, z)
    )
    return numer / (1.0 + _alive_odds_term(p, x, t_x, T_))


def expected_transactions_new_customer(params: BGNBDParams, t) -> np.ndarray:
    """E[X(t)] for a customer just acquired (no history), FHL 2005 eq. (9)."""
    p = params
    t = np.asarray(t, dtype=float)
    return (p.a + p.b - 1.0) / (p.a - 1.0) * (
        1.0 - (p.alpha / (p.alpha + t)) ** p.r * hyp2f1(p.r, p.b, p.a + p.b - 1.0, t / (p.alpha + t))
    )
