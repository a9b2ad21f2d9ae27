"""Planted truth: what the warehouse and its models are later scored against.

Never read by the pipeline. ``customers_truth.parquet`` is written chunk by
chunk so it costs no memory at 1M customers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .campaigns import CAMPAIGNS, EXPERIMENT, send_time
from .catalog import CLUSTER_SIZE, Catalog
from .customers import CONSENT_RATE, PRE_WINDOW_SHARE, Customers
from .feedback import LOW_SATISFACTION, LOW_SATISFACTION_NPS_EFFECT
from .orders import CANCEL_RATE, CHANNELS, RETURN_RATE, Orders
from .params import DIRT_RATES, NULL, Params
from .personas import CATEGORIES, PERSONA_NAMES, as_table
from .vocab import COUNTRY_CODES

VERSION = 1


def _ts(v: np.ndarray) -> pa.Array:
    m = v == NULL
    return pa.array(np.where(m, 0, v), type=pa.int64(), mask=m).cast(pa.timestamp("s"))


class TruthWriter:
    def __init__(self, truth_dir: Path, params: Params):
        self.dir = Path(truth_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.params = params
        self._cust = None
        self._fb = None
        self.privacy: list = []
        self.realised = {"control": {"sent": 0, "alive": 0, "converted": 0}, "treatment": {"sent": 0, "alive": 0, "converted": 0}}
        self.nps = {"responses": 0, "sum": 0.0, "after_low": 0, "after_low_sum": 0.0}
        self.persona_counts = {p: {"customers": 0, "orders": 0} for p in PERSONA_NAMES}

    def catalog(self, cat: Catalog) -> None:
        self.n_products = len(cat)
        self.n_clusters = int(len(np.unique(cat.cluster)))
        table = pa.table({
            "product_id": cat.ids,
            "category": pa.array(CATEGORIES).take(pa.array(cat.category)),
            "brand": pa.array(cat.brand_names).take(pa.array(cat.brand)),
            "price_tier": pa.array(("budget", "mid", "premium")).take(pa.array(cat.tier)),
            "copurchase_cluster": cat.cluster,
            "popularity": cat.popularity,
            "initial_price": pa.array(cat.price / 100.0),
            "updated_price": pa.array(np.where(cat.new_price == NULL, np.nan, cat.new_price / 100.0), from_pandas=True),
            "price_updated_at": _ts(cat.update_at),
        })
        pq.write_table(table, self.dir / "products_truth.parquet")

    def add_chunk(self, cs: Customers, od: Orders, einfo, tinfo, sinfo, cinfo, s_truth, m_truth, r_truth) -> None:
        n = len(cs)
        orders = np.bincount(od.cust, minlength=n)
        returned = np.bincount(od.cust[od.status == 2], minlength=n)
        cancelled = np.bincount(od.cust[od.status == 1], minlength=n)
        revenue = np.bincount(od.cust[od.status == 0], weights=od.total[od.status == 0], minlength=n) / 100.0
        last_order = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last_order, od.cust, od.ordered_at)
        last = np.max(np.stack([last_order, einfo["last_event"], tinfo["last_opened"], sinfo["last_responded"],
                                cinfo["last_convert"]]), axis=0)
        fav = lambda k: pa.array(cs.fav_brand[:, k], mask=cs.fav_brand[:, k] < 0)  # noqa: E731
        ab = cinfo["ab_variant"]
        table = pa.table({
            "customer_id": cs.ids,
            "persona": pa.array(PERSONA_NAMES).take(pa.array(cs.persona)),
            "country": pa.array(COUNTRY_CODES).take(pa.array(cs.country)),
            "email": pa.array(cs.email, pa.string()),
            "signup_at": _ts(cs.signup),
            "alive_until": _ts(cs.alive_until),
            "purchase_rate_per_year": cs.rate,
            "preferred_category_1": pa.array(CATEGORIES).take(pa.array(cs.pref_cat[:, 0])),
            "preferred_category_2": pa.array(CATEGORIES).take(pa.array(cs.pref_cat[:, 1])),
            "favourite_brand_index_1": fav(0),
            "favourite_brand_index_2": fav(1),
            "preferred_channel": pa.array(CHANNELS).take(pa.array(np.argmax(cs.channel_probs, axis=1))),
            "channel_prob_web": cs.channel_probs[:, 0],
            "channel_prob_app": cs.channel_probs[:, 1],
            "channel_prob_store": cs.channel_probs[:, 2],
            "devices": cs.devices.astype(np.int64),
            "sentiment_tendency": cs.sentiment,
            "marketing_consent": cs.consent_final == 1,
            "ab_variant": pa.array(("control", "treatment")).take(pa.array(np.maximum(ab, 0), mask=ab < 0)),
            "n_orders": orders,
            "n_cancelled": cancelled,
            "n_returned": returned,
            "net_revenue": revenue,
            "n_sessions": einfo["sessions_per_customer"],
            "n_product_views": einfo["views_per_customer"],
            "n_tickets": tinfo["tickets_per_customer"],
            "first_low_satisfaction_at": _ts(tinfo["first_low_satisfaction_at"]),
            "last_activity_at": _ts(np.where(last == np.iinfo(np.int64).min, NULL, last)),
        })
        if self._cust is None:
            self._cust = pq.ParquetWriter(self.dir / "customers_truth.parquet", table.schema)
        self._cust.write_table(table)
        fb = pa.concat_tables([
            pa.table({"source": pa.array(["survey_responses"] * len(s_truth["id"]), pa.string()), **s_truth}).drop_columns(["after_low_satisfaction_ticket"]),
            pa.table({"source": pa.array(["social_mentions"] * len(m_truth["id"]), pa.string()), **m_truth}),
        ])
        if self._fb is None:
            self._fb = pq.ParquetWriter(self.dir / "feedback_truth.parquet", fb.schema)
        self._fb.write_table(fb)
        self.privacy += r_truth
        for v in ("control", "treatment"):
            for k in ("sent", "alive", "converted"):
                self.realised[v][k] += cinfo["realised"][v][k]
        self.nps["responses"] += sinfo["responses"]
        self.nps["sum"] += sinfo["nps_sum"]
        self.nps["after_low"] += sinfo["after_low"]
        self.nps["after_low_sum"] += sinfo["nps_after_low_sum"]
        for i, name in enumerate(PERSONA_NAMES):
            sel = cs.persona == i
            self.persona_counts[name]["customers"] += int(sel.sum())
            self.persona_counts[name]["orders"] += int(orders[sel].sum())

    def finish(self, dirt: dict, rows: dict, files: dict, elapsed: float) -> dict:
        for w in (self._cust, self._fb):
            if w is not None:
                w.close()
        p = self.params
        pc_, pt_ = EXPERIMENT["p_convert"]["control"], EXPERIMENT["p_convert"]["treatment"]
        realised = {}
        for v, d in self.realised.items():
            realised[v] = dict(d, rate_per_sent=(d["converted"] / d["sent"]) if d["sent"] else None,
                               rate_per_alive=(d["converted"] / d["alive"]) if d["alive"] else None)
        n_low = self.nps["after_low"]
        n_rest = self.nps["responses"] - n_low
        summary = {
            "version": VERSION,
            "seed": p.seed,
            "params": p.as_dict(),
            "personas": as_table(),
            "persona_counts": self.persona_counts,
            "customer_model": {
                "pre_window_signup_share": PRE_WINDOW_SHARE, "initial_consent_rate": CONSENT_RATE,
                "purchase_process": "Poisson with customer rate ~ Gamma(rate_shape, orders_per_year/rate_shape) while alive",
                "lifetime": "signup + Exponential(mean_lifetime_days); no orders, sessions, surveys or campaign "
                            "opens/clicks/conversions after alive_until",
            },
            "orders_model": {"cancel_rate": CANCEL_RATE, "return_rate_of_non_cancelled": RETURN_RATE,
                             "returned_first_delivered_as": "completed"},
            "catalog": {"products": self.n_products, "copurchase_clusters": self.n_clusters, "cluster_size": CLUSTER_SIZE,
                        "price_updates": dirt["products"].get("price_updates", 0)},
            "experiment": {
                **EXPERIMENT,
                "send_at": _iso(send_time(p.window, [c for c in CAMPAIGNS if c[0] == EXPERIMENT["campaign_id"]][0][2])),
                "p_convert_meaning": "conversion probability of a recipient who is alive at send time",
                "true_lift_absolute": round(pt_ - pc_, 6),
                "true_lift_relative": round((pt_ - pc_) / pc_, 6),
                "realised": realised,
            },
            "campaigns": [{"campaign_id": c[0], "name": c[1], "send_at": _iso(send_time(p.window, c[2])),
                           "p_convert": c[3] if c[3] is not None else EXPERIMENT["p_convert"]} for c in CAMPAIGNS],
            "nps": {
                "low_satisfaction_threshold": LOW_SATISFACTION,
                "planted_effect_after_low_satisfaction_ticket": LOW_SATISFACTION_NPS_EFFECT,
                "meaning": "responses after a closed ticket rated <= threshold have their mean score shifted by the effect",
                "responses": self.nps["responses"],
                "responses_after_low_satisfaction": n_low,
                "mean_after_low_satisfaction": (self.nps["after_low_sum"] / n_low) if n_low else None,
                "mean_other": ((self.nps["sum"] - self.nps["after_low_sum"]) / n_rest) if n_rest else None,
                "comment_sentiment": "positive if score >= 9, neutral 7-8, negative <= 6",
            },
            "privacy_requests": self.privacy,
            "dirt": {"rates": DIRT_RATES, **{k: _plain(v) for k, v in dirt.items()}},
            "rows": rows,
            "files": files,
            "seconds": round(elapsed, 1),
        }
        # seconds differ run to run; keep them out of the file so truth.json is deterministic too
        on_disk = {k: v for k, v in summary.items() if k != "seconds"}
        (self.dir / "truth.json").write_text(json.dumps(on_disk, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return summary


def _plain(d):
    return {k: (_plain(v) if isinstance(v, dict) else v) for k, v in d.items()}


def _iso(ts: int) -> str:
    return np.datetime64(int(ts), "s").astype(str) + "Z"
