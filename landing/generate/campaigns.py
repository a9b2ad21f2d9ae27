"""E-mail campaigns with one A/B experiment whose true conversion rates are known.

Recipients are every customer who has signed up, gave an e-mail and consents at
send time, churned or not (the marketer cannot tell). Only customers still
alive open, click or convert, so the planted probabilities are conditional on
being alive at send time and truth.json records both those and the realised rates.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .customers import Customers
from .params import DAY, HOUR, Window
from .render import fixed_ids

OPEN_PROB = 0.30
CLICK_PROB = 0.25  # of openers who do not convert
EXPERIMENT = {"campaign_id": "CMP003", "p_convert": {"control": 0.040, "treatment": 0.050},
              "assignment": {"control": 0.5, "treatment": 0.5},
              "description": "free-shipping banner (treatment) vs standard newsletter (control)"}
# (campaign id, name, position of the send day within the window, base conversion probability)
CAMPAIGNS = (
    ("CMP001", "spring_newsletter", 0.15, 0.03),
    ("CMP002", "summer_sale", 0.40, 0.045),
    ("CMP003", "free_shipping_ab_test", 0.62, None),
    ("CMP004", "double_11_preview", 0.88, 0.05),
)


def send_time(window: Window, frac: float) -> int:
    return window.start + int(frac * (window.days - 1)) * DAY + 9 * HOUR


def build_campaign_events(cs: Customers, window: Window, first_number: int, rng):
    has_email = np.array([e is not None for e in cs.email], dtype=bool)
    parts = []
    ab_variant = np.full(len(cs), -1, dtype=np.int64)
    realised = {"control": {"sent": 0, "alive": 0, "converted": 0}, "treatment": {"sent": 0, "alive": 0, "converted": 0}}
    for cid, _name, frac, p_base in CAMPAIGNS:
        t0 = send_time(window, frac)
        rec = np.flatnonzero(has_email & (cs.signup < t0) & (cs.consent_at(t0) == 1))
        m = len(rec)
        sent = t0 + rng.integers(0, 4 * HOUR, m)
        if p_base is None:
            variant = (rng.random(m) < EXPERIMENT["assignment"]["treatment"]).astype(np.int64)
            ab_variant[rec] = variant
            p = np.where(variant == 1, EXPERIMENT["p_convert"]["treatment"], EXPERIMENT["p_convert"]["control"])
        else:
            variant = np.zeros(m, dtype=np.int64)
            p = np.full(m, p_base)
        alive = cs.alive_until[rec] > sent
        conv_at = sent + rng.integers(HOUR, 3 * DAY, m)
        convert = alive & (rng.random(m) < p) & (conv_at < cs.alive_until[rec]) & (conv_at < window.end)
        opened = alive & (convert | (rng.random(m) < OPEN_PROB))
        clicked = opened & (convert | (rng.random(m) < CLICK_PROB))
        open_at = sent + rng.integers(60, 12 * HOUR, m)
        click_at = open_at + rng.integers(10, HOUR, m)
        open_at = np.minimum(open_at, np.where(convert, conv_at - 120, open_at))
        click_at = np.where(convert, np.minimum(click_at, conv_at - 60), click_at)
        click_at = np.maximum(click_at, open_at + 10)
        keep = [(np.ones(m, bool), sent, 0), (opened & (open_at < window.end), open_at, 1),
                (clicked & (click_at < window.end), click_at, 2), (convert, conv_at, 3)]
        for mask, ts, step in keep:
            sel = np.flatnonzero(mask)
            parts.append((cid, rec[sel], variant[sel], ts[sel], np.full(len(sel), step)))
        if p_base is None:
            for v, name in ((0, "control"), (1, "treatment")):
                s = variant == v
                realised[name]["sent"] += int(s.sum())
                realised[name]["alive"] += int((s & alive).sum())
                realised[name]["converted"] += int((s & convert).sum())
    camp = np.concatenate([np.full(len(p[1]), int(p[0][3:])) for p in parts]) if parts else np.zeros(0, np.int64)
    cust = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    var = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    ts = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, np.int64)
    step = np.concatenate([p[4] for p in parts]) if parts else np.zeros(0, np.int64)
    srt = np.lexsort((step, cust, camp, ts))
    camp, cust, var, ts, step = camp[srt], cust[srt], var[srt], ts[srt], step[srt]
    n = len(ts)
    frame = {
        "event_id": fixed_ids("CE", first_number + np.arange(n, dtype=np.int64), 10),
        "campaign_id": fixed_ids("CMP", camp, 3),
        "variant": pa.array(("control", "treatment"), pa.string()).take(pa.array(var)),
        "customer_id": cs.ids.take(pa.array(cust)),
        "event_type": pa.array(("sent", "open", "click", "convert"), pa.string()).take(pa.array(step)),
        "occurred_at": ts,
    }
    last_convert = np.full(len(cs), np.iinfo(np.int64).min, dtype=np.int64)
    cv = step == 3
    np.maximum.at(last_convert, cust[cv], ts[cv])
    return frame, window.clamp_day(ts // DAY), ts, {"events": n, "ab_variant": ab_variant, "realised": realised,
                                                    "last_convert": last_convert}
