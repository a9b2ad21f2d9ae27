"""A handful of data-subject requests, planned globally and emitted by the chunk that holds the customer."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .customers import Customers
from .params import DAY, HOUR, Window, rng_for
from .render import fixed_ids

IDENTIFIED_SHARE = 0.6


def plan(seed: int, customers: int) -> dict:
    """Request number -> (customer number, type, identified, time fraction), fixed before any chunk runs."""
    rng = rng_for(seed, "privacy")
    n = min(customers, min(40, 6 + customers // 50_000))
    who = np.sort(rng.choice(customers, n, replace=False)) + 1
    kinds = rng.choice(2, n, p=[0.6, 0.4])
    ident = rng.random(n) < IDENTIFIED_SHARE
    frac = rng.random(n)
    upper = rng.random(n) < 0.3
    return {int(g): (k + 1, int(kinds[k]), bool(ident[k]), float(frac[k]), bool(upper[k])) for k, g in enumerate(who)}


def build_requests(cs: Customers, window: Window, planned: dict):
    rows = []
    for local, g in enumerate(cs.gidx):
        if int(g) not in planned:
            continue
        number, kind, ident, frac, upper = planned[int(g)]
        email = cs.email[local]
        lo = max(int(cs.signup[local]), window.start) + HOUR
        at = lo + int(frac * max(window.end - HOUR - lo, 0))
        by_email = (not ident) and email is not None
        typed = (email.upper() if upper else email) if by_email else None
        rows.append((number, None if by_email else cs.ids[local].as_py(), typed, ("erasure", "access")[kind], at,
                     cs.ids[local].as_py()))
    rows.sort(key=lambda r: r[4])
    at = np.array([r[4] for r in rows], dtype=np.int64)
    frame = {
        "request_id": fixed_ids("PR", np.array([r[0] for r in rows], dtype=np.int64), 6),
        "customer_id": pa.array([r[1] for r in rows], pa.string()),
        "email": pa.array([r[2] for r in rows], pa.string()),
        "request_type": pa.array([r[3] for r in rows], pa.string()),
        "requested_at": at,
    }
    truth = [{"request_id": f"PR{r[0]:06d}", "customer_id": r[5], "request_type": r[3], "by_email_only": r[1] is None}
             for r in rows]
    return frame, window.clamp_day(at // DAY), at, truth
