"""generate(): runs every stage chunk by chunk and writes landing files plus truth."""

from __future__ import annotations

import shutil
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import numpy as np

from landing.contract import SOURCES

from . import privacy
from .campaigns import build_campaign_events
from .catalog import build_catalog, product_frames
from .customers import build_customers
from .dirt import malformed, null_counts
from .events import build_events
from .feedback import build_social, build_surveys, build_tickets
from .orders import build_orders
from .params import DIRT_RATES, Params, rng_for
from .truth import TruthWriter
from .writer import Writer


def _print(msg: str) -> None:
    print(msg, flush=True)


def generate(out_dir, truth_dir, customers: int = 10_000, days: int = 365, end_date: date | str = date(2026, 10, 31),
             seed: int = 42, progress=_print, chunk_size: int = 50_000) -> dict:
    """Write the demo landing zone and its planted truth; returns a summary.

    Existing folders of contract sources under ``out_dir`` are replaced, so the
    landing zone always matches the truth written beside it.
    """
    if isinstance(end_date, str):
        end_date = date.fromisoformat(end_date)
    if customers < 1 or days < 1:
        raise ValueError(f"need at least one customer and one day, got customers={customers} days={days}")
    progress = progress or (lambda _m: None)
    p = Params(customers=customers, days=days, end_date=end_date, seed=seed, chunk_size=chunk_size)
    w = p.window
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    for name in SOURCES:
        shutil.rmtree(out_dir / name, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    writer = Writer(out_dir)
    truth = TruthWriter(truth_dir, p)
    dirt: dict = defaultdict(lambda: defaultdict(int))
    malformed_kinds: dict = defaultdict(Counter)
    missing: dict = defaultdict(Counter)

    def emit(name: str, chunk: int, frame, delivery, sort_time) -> int:
        src = SOURCES[name]
        n = len(delivery)
        bad = malformed(src, n, DIRT_RATES["malformed"], rng_for(seed, f"malformed:{name}", chunk))
        rows = writer.write(src, chunk, frame, delivery, sort_time, bad)
        malformed_kinds[name].update(bad.kinds)
        if n:
            missing[name].update(null_counts(src, frame))
        return rows

    clock = [time.perf_counter()]

    def stage(k: int, name: str, fn):
        # Seconds since the previous stage ended, so simulating the source counts as well as writing it.
        rows = fn()
        now = time.perf_counter()
        progress(f"chunk {k + 1}/{p.n_chunks}  {name:<17} {rows:>11,} rows  {now - clock[0]:6.1f}s")
        clock[0] = now

    cat = build_catalog(seed, w)
    truth.catalog(cat)
    pf, pd_, pt = product_frames(cat, w)
    stage(0, "products", lambda: emit("products", 0, pf, pd_, pt))
    dirt["products"]["price_updates"] = int(len(pd_) - len(cat))

    planned = privacy.plan(seed, customers)
    counters = Counter(order=1, event=1, visitor=0, ticket=1, response=1, post=1, camp=1)
    for k in range(p.n_chunks):
        lo, hi = p.chunk_bounds(k)
        cs = build_customers(seed, k, lo, hi, w, cat)
        stage(k, "customers", lambda: emit("customers", k, cs.crm, cs.crm_delivery, cs.crm_time))
        dirt["customers"]["updates"] += cs.n_updates

        od = build_orders(cs, cat, w, counters["order"], rng_for(seed, "orders", k))
        counters["order"] += len(od)
        stage(k, "orders", lambda: emit("orders", k, od.frame, od.delivery, od.sort_time))
        stage(k, "order_items", lambda: emit("order_items", k, od.items, od.items_delivery, od.items["ordered_at"]))
        for src, d in od.dirt.items():
            for key, v in d.items():
                dirt[src][key] += v

        ev, ed, et, einfo = build_events(cs, od, cat, w, counters["event"], counters["visitor"], rng_for(seed, "events", k))
        counters["event"] += einfo["events"]
        counters["visitor"] += einfo["visitors"]
        stage(k, "web_events", lambda: emit("web_events", k, ev, ed, et))
        dirt["web_events"]["late"] += einfo["late"]
        dirt["web_events"]["duplicates"] += einfo["duplicates"]
        del ev, ed, et

        tf, td, tt, tinfo = build_tickets(cs, od, w, counters["ticket"], rng_for(seed, "tickets", k))
        counters["ticket"] += tinfo["tickets"]
        stage(k, "support_tickets", lambda: emit("support_tickets", k, tf, td, tt))
        dirt["support_tickets"]["duplicates"] += tinfo["duplicates"]
        dirt["support_tickets"]["closing_updates"] += tinfo["versions"]

        sf, sd, st, s_truth, sinfo = build_surveys(cs, w, tinfo["first_low_satisfaction_at"], counters["response"],
                                                   rng_for(seed, "surveys", k))
        counters["response"] += sinfo["responses"]
        stage(k, "survey_responses", lambda: emit("survey_responses", k, sf, sd, st))

        mf, md, mt, m_truth, minfo = build_social(cs, w, counters["post"], rng_for(seed, "social", k))
        counters["post"] += minfo["posts"]
        stage(k, "social_mentions", lambda: emit("social_mentions", k, mf, md, mt))

        cf, cd, ct, cinfo = build_campaign_events(cs, w, counters["camp"], rng_for(seed, "campaigns", k))
        counters["camp"] += cinfo["events"]
        stage(k, "campaign_events", lambda: emit("campaign_events", k, cf, cd, ct))

        rf, rd, rt, r_truth = privacy.build_requests(cs, w, planned)
        if len(rd):
            stage(k, "privacy_requests", lambda: emit("privacy_requests", k, rf, rd, rt))

        truth.add_chunk(cs, od, einfo, tinfo, sinfo, cinfo, s_truth, m_truth, r_truth)

    for name in SOURCES:
        dirt[name]["malformed"] = dict(sorted(malformed_kinds[name].items()))
        dirt[name]["malformed_total"] = sum(malformed_kinds[name].values())
        dirt[name]["missing"] = dict(sorted(missing[name].items()))
    rows = {name: (writer.stats[name].rows if name in writer.stats else 0) for name in SOURCES}
    files = {name: (writer.stats[name].files if name in writer.stats else 0) for name in SOURCES}
    elapsed = time.perf_counter() - t_start
    summary = truth.finish(dirt, rows, files, elapsed)
    progress(f"done: {sum(rows.values()):,} rows in {sum(files.values()):,} files, {elapsed:.1f}s -> {out_dir}; truth -> {truth_dir}")
    return summary
