"""Shared maximum-likelihood driver for the CLV models."""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.optimize import minimize


def maximise_log_params(
    neg_mean_ll: Callable[[np.ndarray], float],
    n_params: int,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, float, bool]:
    """Minimise a negative mean log-likelihood over log-parameters.

    Working in logs keeps every parameter positive without bound constraints.
    BFGS finds the basin quickly; a Nelder-Mead polish from there removes the small
    bias finite-difference gradients leave on flat likelihoods (BG/NBD's a and b are
    weakly identified), so results do not depend on gradient step sizes.
    Returns (log_params, negative mean log-likelihood, converged).
    """
    x0 = np.zeros(n_params) if start is None else np.asarray(start, dtype=float)

    def safe(theta: np.ndarray) -> float:
        value = neg_mean_ll(theta)
        # Overflowed corners of parameter space must repel the optimiser, not crash it.
        return float(value) if np.isfinite(value) else 1e100

    first = minimize(safe, x0, method="BFGS", options={"gtol": 1e-8, "maxiter": 2000})
    polish = minimize(
        safe,
        first.x,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000},
    )
    best = polish if polish.fun <= first.fun else first
    return best.x, float(best.fun), bool(polish.success or first.success)
