"""Clickstream: purchase sessions for web/app orders, browsing sessions, anonymous visitors.

A session is laid out as page_view, [search], product_view..., add_to_cart...,
[checkout], [purchase], so the funnel counts decrease by construction. Purchase
sessions end at the order's time with a purchase event; customers log in part
way through a session, so earlier events of the same anonymous_id are anonymous
and only identity resolution can attribute them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import Catalog
from .customers import Customers
from .dirt import blank, duplicates, late_delay
from .orders import Orders
from .params import DIRT_RATES, HOUR, YEAR_DAYS, DAY, Window
from .personas import CATEGORIES, PERSONAS
from .render import fixed_ids
from .vocab import SEARCH_TERMS, UTM

EVENT_TYPES = ("page_view", "product_view", "search", "add_to_cart", "checkout", "purchase")
PAGE_VIEW, PRODUCT_VIEW, SEARCH, ADD_TO_CART, CHECKOUT, PURCHASE = range(6)
DEVICES = ("desktop", "mobile", "tablet")
ANON_VISITORS_PER_CUSTOMER = 0.4
UTM_SHARE = 0.25
_SCRAMBLE = 982_451_653  # odd and not a multiple of 5: a bijection modulo 10**12
VISITOR_BASE = 5_000_000_000


def anonymous_ids(number: np.ndarray) -> pa.Array:
    """Cookie ids that do not reveal the customer number they were derived from."""
    return fixed_ids("ck_", (number * _SCRAMBLE + 7_777_777) % 10**12, 12)


def _category_terms():
    flat, start, size = [], [], []
    for c in CATEGORIES:
        start.append(len(flat))
        size.append(len(SEARCH_TERMS[c]))
        flat += SEARCH_TERMS[c]
    return pa.array(flat, pa.string()), np.array(start), np.array(size)


def build_events(cs: Customers, od: Orders, cat: Catalog, window: Window, first_event: int, first_visitor: int,
                 rng) -> tuple[dict, np.ndarray, np.ndarray, dict]:
    n_cust = len(cs)
    # --- sessions -------------------------------------------------------------------------
    # Purchase sessions: one per web or app order.
    po = np.flatnonzero(od.channel < 2)
    p_cust = od.cust[po]
    p_app = od.channel[po] == 1
    # Browsing sessions of customers while alive.
    lo, hi = cs.exposure(window)
    room = np.maximum(hi - lo - 2 * HOUR, 0)
    years = room / (YEAR_DAYS * DAY)
    bps = np.array([p.browse_sessions_per_year for p in PERSONAS])[cs.persona]
    nb = rng.poisson(bps * years)
    b_cust = np.repeat(np.arange(n_cust), nb)
    b_start = lo[b_cust] + (rng.random(len(b_cust)) * room[b_cust]).astype(np.int64)
    b_app = rng.random(len(b_cust)) < cs.channel_probs[b_cust, 1] / cs.channel_probs[b_cust, :2].sum(axis=1)
    # Anonymous visitors who never log in.
    n_vis = int(round(n_cust * ANON_VISITORS_PER_CUSTOMER))
    nv = 1 + rng.poisson(0.8, n_vis)
    a_vis = np.repeat(np.arange(n_vis), nv)
    a_start = window.start + (rng.random(len(a_vis)) * (window.end - window.start - 2 * HOUR)).astype(np.int64)

    kind = np.concatenate([np.zeros(len(po), np.int8), np.ones(len(b_cust), np.int8), np.full(len(a_vis), 2, np.int8)])
    S = len(kind)
    cust = np.concatenate([p_cust, b_cust, np.full(len(a_vis), -1)])
    is_app = np.concatenate([p_app, b_app, np.zeros(len(a_vis), bool)])
    order_of = np.concatenate([po, np.full(S - len(po), -1)])
    persona = np.where(cust >= 0, cs.persona[np.maximum(cust, 0)], 2)

    # Which device (anonymous id): app on the phone, web on the second device when there is one.
    dev = np.where(is_app, 0, (rng.random(S) < 0.7).astype(np.int64))
    dev = np.where(cust >= 0, np.minimum(dev, cs.devices[np.maximum(cust, 0)] - 1), 0)
    anon_num = np.where(cust >= 0, cs.gidx[np.maximum(cust, 0)] * 2 + dev,
                        VISITOR_BASE + first_visitor + np.concatenate([np.zeros(S - len(a_vis), np.int64), a_vis]))
    tablet = (cs.gidx % 5 == 0)
    dev_class = np.where(dev == 0, 1, np.where(tablet[np.maximum(cust, 0)], 2, 0))
    vis_class = rng.choice(3, n_vis, p=[0.45, 0.45, 0.10])
    dev_class[S - len(a_vis):] = vis_class[a_vis]

    # Category the session is about: the order's, or one the customer likes, or anything.
    scat = np.empty(S, dtype=np.int64)
    scat[: len(po)] = od.category[po]
    nb_tot = len(b_cust)
    bc = cs.pref_cat[b_cust, rng.integers(0, 2, nb_tot)]
    stray = rng.random(nb_tot) < 0.2
    bc[stray] = rng.integers(0, len(CATEGORIES), int(stray.sum()))
    scat[len(po): len(po) + nb_tot] = bc
    scat[len(po) + nb_tot:] = rng.integers(0, len(CATEGORIES), len(a_vis))

    # Event counts per step.
    L = np.zeros(S, dtype=np.int64)
    L[: len(po)] = od.n_lines[po]
    purchase = kind == 0
    n_search = (rng.random(S) < np.where(purchase, 0.15, 0.4)).astype(np.int64)
    vps = np.array([p.views_per_session for p in PERSONAS])[persona]
    n_view = np.where(purchase, L + rng.poisson(0.2, S), 1 + rng.poisson(np.where(kind == 2, 2.0, vps)))
    browse_cart = (~purchase) & (rng.random(S) < 0.3)
    n_cart = np.where(purchase, L, browse_cart.astype(np.int64))
    n_checkout = (purchase | (browse_cart & (rng.random(S) < 0.3))).astype(np.int64)
    n_purchase = purchase.astype(np.int64)
    n_ev = 1 + n_search + n_view + n_cart + n_checkout + n_purchase

    # --- events ---------------------------------------------------------------------------
    E = int(n_ev.sum())
    sess = np.repeat(np.arange(S), n_ev)
    first_ev = np.concatenate([[0], np.cumsum(n_ev)[:-1]])
    pos = np.arange(E) - first_ev[sess]
    b1 = (1 + n_search)[sess]
    b2 = b1 + n_view[sess]
    b3 = b2 + n_cart[sess]
    b4 = b3 + n_checkout[sess]
    etype = np.select([pos == 0, pos < b1, pos < b2, pos < b3, pos < b4], [PAGE_VIEW, SEARCH, PRODUCT_VIEW, ADD_TO_CART, CHECKOUT],
                      PURCHASE).astype(np.int64)

    # Timing: gaps between events; purchase sessions end at the order time, others start at their start.
    gap = (10 + rng.exponential(50, E)).astype(np.int64)
    gap[first_ev] = 0
    cum = np.cumsum(gap)
    off = cum - cum[first_ev][sess]
    dur = off[first_ev + n_ev - 1]
    start = np.empty(S, dtype=np.int64)
    start[: len(po)] = od.ordered_at[po] - dur[: len(po)]
    start[len(po): len(po) + nb_tot] = b_start
    start[len(po) + nb_tot:] = a_start
    occurred = start[sess] + off

    # Products: order lines for purchase sessions, catalogue draws from the session's category otherwise.
    product = np.full(E, -1, dtype=np.int64)
    view = etype == PRODUCT_VIEW
    cart = etype == ADD_TO_CART
    vj = pos - b1
    ls = np.where(order_of >= 0, od.line_start[np.maximum(order_of, 0)], 0)
    line_view = view & purchase[sess] & (vj < L[sess])
    product[line_view] = od.product[ls[sess[line_view]] + vj[line_view]]
    free_view = np.flatnonzero(view & ~line_view)
    product[free_view] = cat.in_category(persona[sess[free_view]], scat[sess[free_view]], rng)
    cj = pos - b2
    pc_ev = cart & purchase[sess]
    product[pc_ev] = od.product[ls[sess[pc_ev]] + cj[pc_ev]]
    bc_ev = np.flatnonzero(cart & ~purchase[sess])
    product[bc_ev] = product[first_ev[sess[bc_ev]] + b1[bc_ev]]  # the first product viewed in that session

    # Login: purchase sessions log in by checkout at the latest (app users mostly already are);
    # 45% of customer browsing sessions log in somewhere; visitors never do.
    login = np.full(S, 10**6, dtype=np.int64)
    lp = rng.integers(0, np.maximum(n_ev - 1, 1))
    login[purchase] = np.where(is_app[purchase] & (rng.random(int(purchase.sum())) < 0.8), 0, lp[purchase])
    blog = (kind == 1) & (rng.random(S) < 0.45)
    login[blog] = rng.integers(0, n_ev[blog])
    logged = pos >= login[sess]
    del b1, b2, b3, b4, vj, cj, line_view, cart, gap, cum, off

    # UTM tags on the landing event of a share of web sessions.
    utm = np.where((~is_app) & (rng.random(S) < UTM_SHARE), rng.integers(0, len(UTM), S), -1)
    ev_utm = np.where(pos == 0, utm[sess], -1)

    terms, tstart, tsize = _category_terms()
    srch = etype == SEARCH
    term_idx = tstart[scat[sess]] + (rng.random(E) * tsize[scat[sess]]).astype(np.int64)

    # Event ids follow time inside the chunk.
    ordr = np.lexsort((pos, sess, occurred))
    def arr(idx, mask):  # noqa: E306
        return pa.array(idx[ordr], mask=mask[ordr])

    etype_o = etype[ordr]
    prod_ids = cat.ids.take(arr(product, product < 0))
    base = pa.array(("/", "/product/", "/search", "/cart", "/checkout", "/checkout/success/"), pa.string()).take(pa.array(etype_o))
    order_idx = order_of[sess]
    order_ids = od.ids.take(arr(np.maximum(order_idx, 0), etype != PURCHASE))
    suffix = pc.coalesce(prod_ids, order_ids, "")
    url = pc.binary_join_element_wise(base, suffix, "")
    url = pc.if_else(pa.array(is_app[sess][ordr]), pa.scalar(None, pa.string()), url)
    utm_o = ev_utm[ordr]
    utm_mask = utm_o < 0
    utm_i = pa.array(np.maximum(utm_o, 0), mask=utm_mask)
    frame = {
        "event_id": fixed_ids("E", first_event + np.arange(E), 11),
        "anonymous_id": anonymous_ids(anon_num[sess][ordr]),
        "customer_id": cs.ids.take(arr(np.maximum(cust[sess], 0), ~logged | (cust[sess] < 0))) if n_cust else pa.nulls(E, pa.string()),
        "occurred_at": occurred[ordr],
        "event_type": pa.array(EVENT_TYPES, pa.string()).take(pa.array(etype_o)),
        "product_id": prod_ids,
        "page_url": url,
        "search_query": terms.take(arr(term_idx, ~srch)),
        "device": blank(pa.array(DEVICES, pa.string()).take(pa.array(dev_class[sess][ordr])),
                        DIRT_RATES["missing"]["web_events"]["device"], rng),
        "utm_source": pa.array([u[0] for u in UTM], pa.string()).take(utm_i),
        "utm_medium": pa.array([u[1] for u in UTM], pa.string()).take(utm_i),
        "utm_campaign": pa.array([u[2] for u in UTM], pa.string()).take(utm_i),
    }
    del etype_o, prod_ids, base, order_ids, suffix, url, utm_i, logged, term_idx, srch
    t = frame["occurred_at"]
    delay = late_delay(E, DIRT_RATES["late"]["web_events"], rng)
    delivery = window.clamp_day(t // DAY + delay)
    late = int((delivery > t // DAY).sum())
    dup_rows, dup_day = duplicates(E, DIRT_RATES["duplicate"]["web_events"], rng, delivery, window.last_day)
    if len(dup_rows):
        pidx = pa.array(np.concatenate([np.arange(E), dup_rows]))
        frame = {k: (v.take(pidx) if isinstance(v, pa.Array) else np.concatenate([v, v[dup_rows]])) for k, v in frame.items()}
        delivery = np.concatenate([delivery, dup_day])
    info = {
        "events": E, "sessions": S, "purchase_sessions": int(len(po)), "browse_sessions": int(nb_tot),
        "visitor_sessions": int(len(a_vis)), "visitors": n_vis, "late": late, "duplicates": int(len(dup_rows)),
        "sessions_per_customer": np.bincount(cust[cust >= 0], minlength=n_cust),
        "views_per_customer": np.bincount(cust[sess][view & (cust[sess] >= 0)], minlength=n_cust),
        "last_event": _last_event(cust, sess, occurred, n_cust),
    }
    return frame, delivery, frame["occurred_at"], info


def _last_event(cust, sess, occurred, n_cust):
    """Latest event time of each customer's sessions (for the alive_until check in truth)."""
    out = np.full(n_cust, np.iinfo(np.int64).min, dtype=np.int64)
    c = cust[sess]
    m = c >= 0
    np.maximum.at(out, c[m], occurred[m])
    return out
