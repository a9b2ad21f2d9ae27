"""Orders and order lines: a Poisson purchase process per customer while alive.

Purchase times are uniform within each customer's alive-and-signed-up part of
the window with a gamma-distributed rate, which is exactly the BG/NBD-style
process a CLV model assumes. Amounts are integer cents so the header totals
equal the sum of the lines to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .catalog import Catalog
from .customers import Customers
from .dirt import duplicates, late_delay
from .params import DAY, DIRT_RATES, HOUR, NULL, YEAR_DAYS, Window
from .personas import PERSONAS
from .render import fixed_ids

CANCEL_RATE = 0.05
RETURN_RATE = 0.066  # of non-cancelled orders; returns that would fall after the window are lost
CLUSTER_LINE_PROB = 0.6
FREE_SHIPPING_CENTS = 9_900
CHANNELS = ("web", "app", "store")


@dataclass
class Orders:
    cust: np.ndarray  # local customer index
    ordered_at: np.ndarray
    channel: np.ndarray  # index into CHANNELS
    status: np.ndarray  # final status index into contract ORDER_STATUSES
    returned_at: np.ndarray
    number: np.ndarray  # global order number
    ids: pa.Array
    line_start: np.ndarray
    n_lines: np.ndarray
    product: np.ndarray  # per line
    category: np.ndarray  # main category per order
    total: np.ndarray
    frame: dict
    delivery: np.ndarray
    sort_time: np.ndarray
    items: dict
    items_delivery: np.ndarray
    dirt: dict

    def __len__(self) -> int:
        return len(self.cust)


def build_orders(cs: Customers, cat: Catalog, window: Window, first_number: int, rng) -> Orders:
    lo, hi = cs.exposure(window)
    years = (hi - lo) / (YEAR_DAYS * DAY)
    counts = rng.poisson(cs.rate * years)
    cust = np.repeat(np.arange(len(cs)), counts)
    t = lo[cust] + (rng.random(len(cust)) * (hi - lo)[cust]).astype(np.int64)
    order = np.lexsort((cust, t))  # order numbers increase with time inside a chunk
    cust, t = cust[order], t[order]
    n = len(cust)
    persona = cs.persona[cust]

    cp = np.cumsum(cs.channel_probs[cust], axis=1)
    channel = np.minimum((rng.random((n, 1)) > cp).sum(axis=1), 2)

    extra_lines = np.array([p.extra_lines for p in PERSONAS])[persona]
    n_lines = 1 + rng.poisson(extra_lines)
    line_start = np.concatenate([[0], np.cumsum(n_lines)[:-1]]).astype(np.int64)
    n_items = int(n_lines.sum())

    # Main category: mostly one of the customer's two preferred ones, else the persona mix.
    pick = rng.integers(0, 2, n)
    maincat = cs.pref_cat[cust, pick]
    wander = rng.random(n) < 0.2
    cat_w = np.array([p.category_weights for p in PERSONAS])
    wcum = np.cumsum(cat_w[persona[wander]], axis=1)
    maincat[wander] = np.minimum((rng.random((int(wander.sum()), 1)) > wcum).sum(axis=1), cat_w.shape[1] - 1)

    anchor = cat.in_category(persona, maincat, rng)
    fav_p = np.array([p.favourite_brand_prob for p in PERSONAS])[persona]
    use_fav = (rng.random(n) < fav_p) & (cs.fav_brand[cust, 0] >= 0)
    fb = cs.fav_brand[cust[use_fav], rng.integers(0, 2, int(use_fav.sum()))]
    anchor[use_fav] = cat.in_brand(fb, rng)
    maincat[use_fav] = cat.category[anchor[use_fav]]

    line_order = np.repeat(np.arange(n), n_lines)
    line_no = np.arange(n_items) - line_start[line_order] + 1
    product = np.empty(n_items, dtype=np.int64)
    first = line_no == 1
    product[first] = anchor
    rest = np.flatnonzero(~first)
    ro = line_order[rest]
    in_cluster = rng.random(len(rest)) < CLUSTER_LINE_PROB
    product[rest[in_cluster]] = cat.in_cluster(cat.cluster[anchor[ro[in_cluster]]], rng)
    oc = rest[~in_cluster]
    product[oc] = cat.in_category(persona[line_order[oc]], maincat[line_order[oc]], rng)
    # Re-draw a repeated product once so that lines of an order are (mostly) distinct items.
    key = line_order * len(cat) + product
    srt = np.argsort(key, kind="stable")
    dup = srt[1:][np.diff(key[srt]) == 0]
    product[dup] = cat.in_category(persona[line_order[dup]], maincat[line_order[dup]], rng)

    extra_q = np.array([p.extra_quantity for p in PERSONAS])[persona[line_order]]
    small = np.isin(cat.category[product], (0, 1))  # grocery and household come in multiples
    quantity = 1 + np.minimum(rng.poisson(np.where(small, extra_q, extra_q * 0.3)), 8)
    unit_price = cat.price_at(product, t[line_order])
    subtotal = np.add.reduceat(quantity * unit_price, line_start) if n else np.zeros(0, np.int64)

    dprob = np.array([p.discount_prob for p in PERSONAS])[persona]
    dlo = np.array([p.discount_pct[0] for p in PERSONAS])[persona]
    dhi = np.array([p.discount_pct[1] for p in PERSONAS])[persona]
    has_disc = rng.random(n) < dprob
    discount = np.where(has_disc, np.round(subtotal * (dlo + rng.random(n) * (dhi - dlo))), 0).astype(np.int64)
    shipping = np.where((channel == 2) | (subtotal >= FREE_SHIPPING_CENTS), 0, np.where(channel == 1, 800, 1000))
    total = subtotal - discount + shipping

    u = rng.random(n)
    cancelled = u < CANCEL_RATE
    ret_at = t + (rng.uniform(3, 30, n) * DAY).astype(np.int64)
    returned = (~cancelled) & (rng.random(n) < RETURN_RATE) & (ret_at < np.minimum(window.end, cs.alive_until[cust]))
    status = np.where(cancelled, 1, np.where(returned, 2, 0))
    returned_at = np.where(returned, ret_at, NULL)
    cancel_at = t + rng.integers(5 * 60, 2 * HOUR, n)

    number = first_number + np.arange(n, dtype=np.int64)
    ids = fixed_ids("O", number, 9)
    statuses = pa.array(("completed", "cancelled", "returned"), pa.string())
    delay = late_delay(n, DIRT_RATES["late"]["orders"], rng)
    v1_updated = np.where(cancelled, cancel_at, t)
    v1_day = window.clamp_day(np.maximum(t // DAY + delay, v1_updated // DAY))
    v1_status = np.where(cancelled, 1, 0)  # a returned order is first delivered completed
    r = np.flatnonzero(returned)
    head = {
        "order_id": pa.concat_arrays([ids, ids.take(pa.array(r))]),
        "customer_id": cs.ids.take(pa.array(np.concatenate([cust, cust[r]]))),
        "ordered_at": np.concatenate([t, t[r]]),
        "channel": pa.array(CHANNELS, pa.string()).take(pa.array(np.concatenate([channel, channel[r]]))),
        "status": statuses.take(pa.array(np.concatenate([v1_status, np.full(len(r), 2)]))),
        "subtotal_amount": np.concatenate([subtotal, subtotal[r]]),
        "discount_amount": np.concatenate([discount, discount[r]]),
        "shipping_amount": np.concatenate([shipping, shipping[r]]).astype(np.int64),
        "total_amount": np.concatenate([total, total[r]]).astype(np.int64),
        "updated_at": np.concatenate([v1_updated, ret_at[r]]),
    }
    delivery = np.concatenate([v1_day, window.clamp_day(ret_at[r] // DAY)])
    dup_rows, dup_day = duplicates(len(delivery), DIRT_RATES["duplicate"]["orders"], rng, delivery, window.last_day)
    head = {k: (v.take(pa.array(np.concatenate([np.arange(len(delivery)), dup_rows]))) if isinstance(v, pa.Array)
                else np.concatenate([v, v[dup_rows]])) for k, v in head.items()}
    delivery = np.concatenate([delivery, dup_day])

    items = {
        "order_id": ids.take(pa.array(line_order)),
        "line_number": line_no.astype(np.int64),
        "product_id": cat.ids.take(pa.array(product)),
        "quantity": quantity.astype(np.int64),
        "unit_price": unit_price,
        "ordered_at": t[line_order],
    }
    late = int((v1_day > t // DAY).sum())
    return Orders(
        cust=cust, ordered_at=t, channel=channel, status=status, returned_at=returned_at, number=number, ids=ids,
        line_start=line_start, n_lines=n_lines, product=product, category=maincat, total=total,
        frame=head, delivery=delivery, sort_time=head["ordered_at"], items=items,
        items_delivery=v1_day[line_order],
        dirt={"orders": {"late": late, "duplicates": len(dup_rows), "status_updates": len(r)},
              "order_items": {"late": int((v1_day[line_order] > t[line_order] // DAY).sum())}},
    )
