"""Per-customer behavioural features at a point in time.

Everything is computed from rows strictly before ``as_of`` so the same function
serves segmentation (as_of = today) and churn (as_of = a historical cutoff)
without leaking the future into the past.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Order statuses that are not revenue: a cancelled order is not a purchase occasion.
NON_PURCHASE_STATUSES = frozenset({"cancelled"})


def _slug(value: str) -> str:
    return re.sub(r"[^0-9a-zA-Z\u4e00-\u9fff]+", "_", str(value)).strip("_").lower() or "unknown"


def _require(frame: pd.DataFrame, columns: set[str], name: str) -> None:
    missing = columns - set(frame.columns)
    if missing:
        raise KeyError(f"{name} frame lacks column(s) {sorted(missing)}; has {list(frame.columns)}")


def _share_columns(frame: pd.DataFrame, key: str, weight: str, prefix: str) -> pd.DataFrame:
    wide = frame.pivot_table(index="customer_key", columns=key, values=weight, aggfunc="sum", fill_value=0.0)
    wide = wide.div(wide.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    wide.columns = [f"{prefix}{_slug(c)}" for c in wide.columns]
    return wide[sorted(wide.columns)]


def customer_features(
    orders: pd.DataFrame,
    as_of,
    order_items: pd.DataFrame | None = None,
    activity: pd.DataFrame | None = None,
    customers: pd.Series | None = None,
    recent_days: tuple[int, ...] = (30, 90),
) -> pd.DataFrame:
    """One row per customer with features known just before ``as_of``.

    orders: customer_key, order_date, net_revenue; optional order_id,
        discount_amount, channel, status (cancelled orders are ignored,
        returned ones count towards return_rate).
    order_items (optional): order_id, category, and line_revenue or
        quantity * unit_price -> cat_share_<category> by revenue.
    activity (optional): customer_key, event_time, optional activity_type
        (web sessions, tickets, survey answers...) -> activity counts.
    customers (optional): ids to include even without history (zero features,
        recency and tenure NaN).

    Output columns: customer_key, recency_days, tenure_days, frequency, monetary,
    avg_order_value, discount_share, return_rate, orders_last_<n>d,
    revenue_last_<n>d, inter_purchase_days, channel_share_<channel>,
    cat_share_<category>, activity_last_<n>d, activity_<type>_last_<max n>d.
    """
    _require(orders, {"customer_key", "order_date", "net_revenue"}, "orders")
    cutoff = pd.Timestamp(as_of)
    # Filter before anything is copied: at a million customers the order frame is gigabytes, and
    # churn calls this once per training cutoff.
    order_dates = pd.to_datetime(orders["order_date"])
    kept = order_dates < cutoff
    if "status" in orders.columns:
        kept &= ~orders["status"].isin(NON_PURCHASE_STATUSES)
    o = orders.loc[kept].assign(order_date=order_dates[kept], net_revenue=orders["net_revenue"][kept].astype(float))

    g = o.groupby("customer_key", sort=True)
    first, last = g["order_date"].min(), g["order_date"].max()
    n_orders = g.size()
    revenue = g["net_revenue"].sum()
    out = pd.DataFrame(index=n_orders.index)
    out["recency_days"] = (cutoff - last).dt.total_seconds() / 86400.0
    out["tenure_days"] = (cutoff - first).dt.total_seconds() / 86400.0
    out["frequency"] = n_orders.astype(float)
    out["monetary"] = revenue
    out["avg_order_value"] = revenue / n_orders
    # Mean gap between orders; a single order gives tenure as the best guess we have.
    out["inter_purchase_days"] = np.where(
        n_orders > 1, (last - first).dt.total_seconds() / 86400.0 / (n_orders - 1).clip(lower=1), out["tenure_days"]
    )
    if "discount_amount" in o.columns:
        disc = g["discount_amount"].sum().astype(float)
        out["discount_share"] = (disc / (disc + revenue).replace(0, np.nan)).fillna(0.0)
    else:
        out["discount_share"] = 0.0
    if "status" in o.columns:
        out["return_rate"] = (o["status"] == "returned").groupby(o["customer_key"], sort=True).mean()
    else:
        out["return_rate"] = 0.0
    for days in recent_days:
        window = o[o["order_date"] >= cutoff - pd.Timedelta(days=days)].groupby("customer_key")
        out[f"orders_last_{days}d"] = window.size().reindex(out.index, fill_value=0).astype(float)
        out[f"revenue_last_{days}d"] = window["net_revenue"].sum().reindex(out.index, fill_value=0.0)

    if "channel" in o.columns:
        out = out.join(_share_columns(o, "channel", "net_revenue", "channel_share_"))
    if order_items is not None and len(order_items) and "order_id" in o.columns:
        _require(order_items, {"order_id", "category"}, "order_items")
        items = order_items
        if "line_revenue" not in items.columns:
            _require(items, {"quantity", "unit_price"}, "order_items")
            items = items.assign(line_revenue=items["quantity"].astype(float) * items["unit_price"].astype(float))
        # Joining to the filtered orders keeps lines of future or cancelled orders out.
        items = items.merge(o[["order_id", "customer_key"]], on="order_id", how="inner")
        out = out.join(_share_columns(items, "category", "line_revenue", "cat_share_"))

    if activity is not None and len(activity):
        _require(activity, {"customer_key", "event_time"}, "activity")
        event_times = pd.to_datetime(activity["event_time"])
        earlier = event_times < cutoff
        a = activity.loc[earlier].assign(event_time=event_times[earlier])
        for days in recent_days:
            recent = a[a["event_time"] >= cutoff - pd.Timedelta(days=days)]
            out[f"activity_last_{days}d"] = recent.groupby("customer_key").size().reindex(out.index, fill_value=0)
        if "activity_type" in a.columns:
            widest = max(recent_days)
            recent = a[a["event_time"] >= cutoff - pd.Timedelta(days=widest)]
            counts = recent.pivot_table(index="customer_key", columns="activity_type", aggfunc="size", fill_value=0)
            counts.columns = [f"activity_{_slug(c)}_last_{widest}d" for c in counts.columns]
            out = out.join(counts[sorted(counts.columns)])

    if customers is not None:
        out = out.reindex(pd.Index(pd.unique(pd.concat([pd.Series(out.index), pd.Series(customers)])), name="customer_key"))
    # A missing share or count means "none", not "unknown"; recency/tenure stay NaN
    # for customers who never bought.
    fill_zero = [c for c in out.columns if c not in ("recency_days", "tenure_days", "inter_purchase_days")]
    out[fill_zero] = out[fill_zero].fillna(0.0)
    out.index.name = "customer_key"
    return out.sort_index().reset_index()
