"""Ratios, targets and the printed table: pure functions over the result dict (tested alone)."""

from __future__ import annotations

GIB = 1024.0

# The targets; they are judged at L (and XL for memory), reported at every scale.
TARGETS = {
    "end_to_end_s": 600.0,  # L, generate excluded
    "peak_mib": 8 * GIB,
    "overhead_vs_floor": 1.5,
    "pandas_speedup": 3.0,
    "pandas_memory_fraction": 1 / 3,
    "incremental_fraction": 0.10,
}
# What the SQL floor does too, plus the privacy steps it has no counterpart for (pseudonym map,
# retention, erasures): staging cannot be built without the map.
PIPELINE_STAGES = ("ingest", "checks", "privacy", "dbt")
# What a daily run of the job does before publishing: the models score the day's customers too, or the
# suites on their outputs (and customer_360, which joins them) rightly fail on customers not scored. As in
# build_warehouse, a model refits only when stale (orchestration/defs/ml/reuse.py), so the full build's ML
# part fits every model and the daily run's scores with those fits.
DAILY_STAGES = PIPELINE_STAGES + ("ml",)


def summarise_timings(raw: dict) -> dict:
    """Totals and the ten slowest of each kind: enough to say which model or test costs what."""
    nodes = raw.get("dbt_nodes_s", {})
    checks = {k: v for k, v in nodes.items() if ":" in k}
    models = {k: v for k, v in nodes.items() if ":" not in k}

    def top(d):
        return dict(sorted(d.items(), key=lambda kv: -kv[1])[:10])

    return {"steps_s": raw.get("steps_s", {}), "dbt_models_total_s": round(sum(models.values()), 3),
            "dbt_tests_total_s": round(sum(checks.values()), 3), "dbt_models_count": len(models),
            "dbt_tests_count": len(checks), "slowest_dbt_models_s": top(models), "slowest_dbt_tests_s": top(checks)}


def combine(parts: list[dict]) -> dict:
    """One stage from its parts (separate processes): times add up, peak memory is the largest."""
    return {
        "wall_s": round(sum(p["wall_s"] for p in parts), 3),
        "cpu_s": round(sum(p["cpu_s"] for p in parts), 3),
        "peak_rss_mib": max(p["peak_rss_mib"] for p in parts),
        "peak_tree_rss_mib": max(p["peak_tree_rss_mib"] for p in parts),
        "ok": all(p["returncode"] == 0 for p in parts),
        "parts": parts,
    }


def _measured(stages: dict, names) -> list[dict]:
    # absent (no asset for it yet), skipped (--skip), unknown (a result from before the stage existed)
    # and not-yet-run (a run still going or stopped) stages have no measurement
    return [stages[n] for n in names if n in stages and "wall_s" in stages[n]]


def _sum(stages: dict, names) -> dict:
    present = _measured(stages, names)
    return {"wall_s": round(sum(s["wall_s"] for s in present), 3), "cpu_s": round(sum(s["cpu_s"] for s in present), 3),
            "peak_tree_rss_mib": max((s["peak_tree_rss_mib"] for s in present), default=0.0)}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def end_to_end(stages: dict) -> dict:
    names = [n for n in stages if n != "generate"]
    if not _measured(stages, names):  # a run of the comparisons alone: no end-to-end figure, not 0 s
        return {"wall_s": None, "cpu_s": None, "peak_tree_rss_mib": None}
    out = _sum(stages, names)
    # skipped, or not reached by a run that was stopped: the sum is a part of the pipeline, not all of it
    not_measured = [n for n in names if stages[n].get("status") != "absent" and not _measured(stages, [n])]
    if not_measured:
        out["not_measured"] = not_measured
    return out


def overhead(stages: dict, floor: dict) -> dict:
    missing = [n for n in PIPELINE_STAGES if n in stages and not _measured(stages, [n])]
    pipeline = _sum(stages, PIPELINE_STAGES) if not missing else {"wall_s": None, "cpu_s": None}
    out = {"pipeline_wall_s": pipeline["wall_s"], "floor_wall_s": floor["wall_s"],
           "wall_ratio": ratio(pipeline["wall_s"], floor["wall_s"]),
           "cpu_ratio": ratio(pipeline["cpu_s"], floor["cpu_s"])}
    if missing:
        out["pipeline_not_measured"] = missing
    return out


def same_tables_overhead(pipeline: dict, floor: dict) -> dict:
    """The pipeline limited to the floor's tables (one process) against the floor."""
    return {"wall_ratio": ratio(pipeline["wall_s"], floor["wall_s"]),
            "cpu_ratio": ratio(pipeline["cpu_s"], floor["cpu_s"])}


def pandas_vs_sql(sql: dict, pandas: dict, memory_cap_mib: float | None = None) -> dict:
    """Speed and memory, pandas over SQL. A pandas run stopped at the memory cap gives bounds: it needed
    more than the cap (so the memory fraction is at most sql/cap) and more than the time it had run."""
    capped = bool(pandas.get("stopped_at_memory_cap"))
    pandas_peak = max(pandas["peak_rss_mib"], memory_cap_mib or 0.0) if capped else pandas["peak_rss_mib"]
    out = {"sql_wall_s": sql["wall_s"], "pandas_wall_s": pandas["wall_s"],
           "sql_peak_mib": sql["peak_rss_mib"], "pandas_peak_mib": pandas_peak,
           "speedup": ratio(pandas["wall_s"], sql["wall_s"]),
           "cpu_speedup": ratio(pandas["cpu_s"], sql["cpu_s"]),
           "memory_fraction": ratio(sql["peak_rss_mib"], pandas_peak)}
    if capped:
        out.update({"pandas_stopped_at_memory_cap": True, "speedup_is": "at least", "memory_fraction_is": "at most"})
    return out


def param_agreement(ours: dict, theirs: dict) -> dict:
    """Relative difference per parameter, |ours - theirs| / |theirs|."""
    return {k: round(abs(ours[k] - theirs[k]) / abs(theirs[k]), 6) if theirs[k] else None for k in theirs}


def judge(result: dict) -> dict:
    """Each target: measured value, target, met (None when the measurement is missing)."""
    t, out = TARGETS, {}
    e2e, cmp_ = result.get("end_to_end", {}), result.get("comparisons", {})

    def verdict(value, target, lower_is_better=True):
        if value is None:
            return {"value": None, "target": target, "met": None}
        return {"value": value, "target": target, "met": value <= target if lower_is_better else value >= target}

    def from_bound(v: dict, decides: bool) -> dict:
        # A bound, not the value: only one side of the target is known (``decides``); the other is unknown.
        if v["met"] is not None and v["met"] is not decides:
            v["met"] = None
        return v

    partial = bool(e2e.get("not_measured"))  # part of the pipeline: a lower bound on the whole
    for key, value in (("end_to_end_s", e2e.get("wall_s")), ("peak_mib", e2e.get("peak_tree_rss_mib"))):
        out[key] = verdict(value, t[key])
        if partial:
            from_bound(out[key], decides=False)  # over the target already, or unknown
    # Judged like for like when measured: the pipeline doing what the floor does. The whole pipeline does far
    # more (every model, test and suite) than the floor's scripts; its ratio is reported beside.
    floor = cmp_.get("floor", {})
    like = floor.get("same_tables", {}).get("wall_ratio")
    out["overhead_vs_floor"] = verdict(like if like is not None else floor.get("wall_ratio"), t["overhead_vs_floor"])
    out["overhead_vs_floor"]["basis"] = "same tables" if like is not None else "whole pipeline"
    pandas = cmp_.get("pandas", {})
    out["pandas_speedup"] = verdict(pandas.get("speedup"), t["pandas_speedup"], lower_is_better=False)
    out["pandas_memory_fraction"] = verdict(pandas.get("memory_fraction"), t["pandas_memory_fraction"])
    if pandas.get("pandas_stopped_at_memory_cap"):  # at least this fast, at most this share of the memory
        from_bound(out["pandas_speedup"], decides=True)
        from_bound(out["pandas_memory_fraction"], decides=True)
    out["incremental_fraction"] = verdict(cmp_.get("incremental", {}).get("wall_ratio"), t["incremental_fraction"])
    return out


def table(result: dict) -> str:
    rows = [f"{'stage':<10} {'status':<8} {'wall s':>9} {'cpu s':>9} {'peak MiB':>9} {'tree MiB':>9}"]
    for name, s in result["stages"].items():
        if "wall_s" not in s:
            rows.append(f"{name:<10} {s['status']:<8}")
            continue
        rows.append(f"{name:<10} {s['status']:<8} {s['wall_s']:>9.1f} {s['cpu_s']:>9.1f} "
                    f"{s['peak_rss_mib']:>9.0f} {s['peak_tree_rss_mib']:>9.0f}")
    e = result["end_to_end"]
    if e.get("wall_s") is not None:
        label = "e2e (no generate)" if not e.get("not_measured") else "measured stages"
        rows.append(f"{label:<19} {e['wall_s']:>9.1f} {e['cpu_s']:>9.1f} {'':>9} {e['peak_tree_rss_mib']:>9.0f}")
    lines = ["\n".join(rows), ""]
    c = result.get("comparisons", {})
    if "floor" in c:
        f = c["floor"]
        if f.get("pipeline_wall_s") is None:
            lines.append(f"SQL floor {f['floor_wall_s']:.1f}s wall, {f['cpu_s']:.1f}s cpu "
                         f"(no overhead ratio: {', '.join(f.get('pipeline_not_measured', []))} not measured)")
        else:
            lines.append(f"overhead: {'+'.join(PIPELINE_STAGES)} {f['pipeline_wall_s']:.1f}s vs SQL floor "
                         f"{f['floor_wall_s']:.1f}s = {f['wall_ratio']}x wall, {f['cpu_ratio']}x cpu")
        same = f.get("same_tables", {})
        if same.get("wall_ratio") is not None:
            nodes = same.get("timings", {}).get("dbt_models_count", "?")
            lines.append(f"overhead, the floor's tables only ({nodes} dbt nodes, one process): {same['wall_s']:.1f}s "
                         f"wall / {same['cpu_s']:.1f}s cpu vs SQL floor {f['wall_s']:.1f}s / {f['cpu_s']:.1f}s = "
                         f"{same['wall_ratio']}x wall, {same['cpu_ratio']}x cpu")
        elif same:
            lines.append(f"overhead, the floor's tables only: the run failed (see {same.get('log')})")
    if "pandas" in c and "speedup" in c["pandas"]:
        p = c["pandas"]
        capped = " (stopped at the memory cap)" if p.get("pandas_stopped_at_memory_cap") else ""
        lines.append(f"customer marts: pandas {p['pandas_wall_s']:.1f}s / {p['pandas_peak_mib']:.0f} MiB{capped} vs "
                     f"DuckDB SQL {p['sql_wall_s']:.1f}s / {p['sql_peak_mib']:.0f} MiB: "
                     f"{p.get('speedup_is', '')} {p['speedup']}x faster, "
                     f"{p.get('memory_fraction_is', '')} {p['memory_fraction']} of the memory; "
                     f"outputs agree: {p.get('agree')}".replace(":  ", ": ").replace(",  ", ", "))
    if "clv" in c:
        v = c["clv"]
        lines.append(f"CLV fit: {v.get('summary', v.get('status'))}")
    if "incremental" in c:
        i = c["incremental"]
        if i.get("status"):
            lines.append(f"incremental: {i['status']}")
        else:
            p, m = i.get("partitioned_steps", {}), i.get("full_as_measured", {})
            lines.append(f"daily run (partition {i.get('daily_partition')}, one process) vs full build as one "
                         f"process, {'+'.join(DAILY_STAGES)}: {i['daily']['wall_s']:.1f}s vs {i['full_wall_s']:.1f}s = "
                         f"{i['wall_ratio']}x wall, {i.get('cpu_ratio')}x cpu; partitioned steps (event ingest, "
                         f"partitioned dbt asset) {p.get('daily_s')}s vs {p.get('full_s')}s = {p.get('ratio')}x for "
                         f"{i.get('data', {}).get('fraction')} of the rows")
            if m:
                lines.append(f"  the full build as measured ({m['processes']} processes, {m['wall_s']:.1f}s wall, "
                             f"{m['cpu_s']:.1f}s cpu; {m['startup_cpu_s']:.1f}s cpu of start-up each): "
                             f"{m['wall_ratio']}x wall, {m['cpu_ratio']}x cpu")
    lines.append("")
    for name, v in judge(result).items():
        mark = {True: "met", False: "MISSED", None: "n/a"}[v["met"]]
        lines.append(f"target {name:<24} {str(v['value']):>12} (target {round(v['target'], 3)}): {mark}")
    return "\n".join(lines)
