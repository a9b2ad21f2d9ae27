"""One benchmark run: data, pipeline stages, comparisons, results file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import data, incremental, report, stages
from bench.measure import run_measured
from bench.scales import Scale, parse_scale

PY = sys.executable
LIFETIMES_PY = data.BENCH_DIR / ".venv-lifetimes" / "bin" / "python"
RESULTS_DIR = data.BENCH_DIR / "results"


def _m(name, argv, env, logs: Path, memory_cap_mib: float | None = None) -> dict:
    return run_measured(name, argv, env=env, cwd=data.BENCH_DIR.parent, log_path=logs / f"{name}.log",
                        memory_cap_mib=memory_cap_mib).as_dict()


def _say(text: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {text}", flush=True)


def present_parts(env) -> dict:
    out = subprocess.run([PY, "-m", "bench.stage", "--list"], env=env, cwd=data.BENCH_DIR.parent,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_part(part: str, env, logs: Path) -> dict:
    """One pipeline part (``python -m bench.stage <part>``) as a measured process, with its steps' and dbt nodes'
    seconds when it wrote them."""
    name = part.replace(":", "_")
    timings = logs / f"{name}.timings.json"
    measured = _m(name, [PY, "-m", "bench.stage", part, "--timings-out", str(timings)], env, logs)
    if timings.exists():
        measured["timings"] = report.summarise_timings(json.loads(timings.read_text()))
    return measured


def run_pipeline(env, logs: Path, present: dict, skip: set[str], on_progress=lambda out: None) -> dict:
    """Each present part of each stage as its own measured process, in pipeline order.

    ``on_progress`` gets the stages measured so far after every part, so a long run that is stopped
    still leaves its figures (a stage made of several parts shows what it has run so far).
    """
    parts: dict[str, list] = {s: [] for s in stages.STAGES if s != "generate"}

    def settle(stage: str) -> dict:
        if stage in skip:
            return {"status": "skipped"}
        if not parts[stage]:
            return {"status": "absent"}
        combined = report.combine(parts[stage])
        return {"status": "ok" if combined.pop("ok") else "failed", **combined}

    for stage, part in stages.PARTS:
        if not present.get(part) or stage in skip:
            continue
        _say(f"stage {stage} ({part})")
        parts[stage].append(measure_part(part, env, logs))
        on_progress({s: settle(s) for s in parts if parts[s]})
    return {stage: settle(stage) for stage in parts}


def compare_floor(run_dir: Path, env, logs: Path) -> dict:
    m = _m("floor", [PY, "-m", "bench.floor", "--landing", str(run_dir / "landing"), "--database",
                     str(run_dir / "floor.duckdb"), "--out", str(run_dir / "floor.json"), "customer_marts", "rest"],
           env, logs)
    detail = json.loads((run_dir / "floor.json").read_text()) if m["returncode"] == 0 else {}
    out = {**m, **detail, "parity": floor_parity(run_dir / "warehouse.duckdb", detail.get("row_counts", {}))}
    if m["returncode"] == 0:
        # its tables are counted; the second warehouse the like-for-like run builds needs the disk at L
        (run_dir / "floor.duckdb").unlink(missing_ok=True)
        out["same_tables"] = pipeline_on_floor_tables(run_dir, logs, detail["row_counts"], m)
    return out


def pipeline_on_floor_tables(run_dir: Path, logs: Path, floor_counts: dict, floor: dict) -> dict:
    """The like-for-like side: the pipeline limited to the floor's tables (bench.stages.FLOOR_SCOPE), from an
    empty warehouse over the same landing files, one run in one process as ``make run`` runs it."""
    scoped = run_dir.parent / "floor_scope_run"
    data.prepare_run_on(run_dir / "landing", scoped)
    try:
        m = measure_part(stages.FLOOR_SCOPE, data.run_env(scoped), logs)
        m["parity"] = floor_parity(scoped / "warehouse.duckdb", floor_counts)
    finally:
        shutil.rmtree(scoped, ignore_errors=True)  # a second warehouse of raw data: gigabytes at L
    if m["returncode"] == 0:
        m.update(report.same_tables_overhead(m, floor))
    return m


# The floor's tables and the pipeline's tables holding the same rows.
SAME_ROWS = {"marts.fct_orders": "marts.fct_orders", "marts.fct_order_items": "marts.fct_order_items",
             "marts.dim_customers": "marts.dim_customers", "marts.dim_products": "marts.dim_products",
             "marts.customer_rfm": "marts.customer_rfm", "marts.fct_sessions": "marts.fct_sessions",
             "staging.web_events": "staging.stg_web__events"}


def floor_parity(warehouse: Path, floor_counts: dict) -> dict:
    """Row counts, floor vs pipeline: the floor must do the same work, not less."""
    pipeline = _row_counts(warehouse, [v for v in SAME_ROWS.values()])
    return {k: {"floor": floor_counts.get(k), "pipeline": pipeline.get(v)} for k, v in SAME_ROWS.items()}


def compare_pandas(run_dir: Path, env, logs: Path, memory_cap_mib: float | None = None) -> dict:
    sql = _m("customer_marts_sql", [PY, "-m", "bench.floor", "--landing", str(run_dir / "landing"), "--database",
                                    str(run_dir / "marts_sql.duckdb"), "--out", str(run_dir / "marts_sql.json"),
                                    "customer_marts"], env, logs)
    pandas = _m("customer_marts_pandas", [PY, "-m", "bench.pandas_way", "--landing", str(run_dir / "landing"),
                                          "--out", str(run_dir / "pandas")], env, logs, memory_cap_mib)
    out = {"sql": sql, "pandas": pandas, "pandas_memory_cap_mib": memory_cap_mib}
    if sql["returncode"] == 0 and (pandas["returncode"] == 0 or pandas["stopped_at_memory_cap"]):
        out.update(report.pandas_vs_sql(sql, pandas, memory_cap_mib))
    if sql["returncode"] == 0 and pandas["returncode"] == 0:
        out["agree"] = marts_agree(run_dir)
    return out


def marts_agree(run_dir: Path) -> dict:
    """Row for row: the pandas marts against the SQL ones (same scores, counts and money)."""
    import duckdb

    con = duckdb.connect(str(run_dir / "marts_sql.duckdb"), read_only=True)
    p = run_dir / "pandas"
    rfm = con.execute(f"""select count(*), count(*) filter (where s.r_score = p.r_score and s.f_score = p.f_score
                               and s.m_score = p.m_score and abs(s.monetary - p.monetary) < 0.005
                               and s.frequency = p.frequency)
                          from marts.customer_rfm s full join '{p}/customer_rfm.parquet' p using (customer_id)""").fetchone()
    dim = con.execute(f"""select count(*), count(*) filter (where s.lifetime_order_count = p.lifetime_order_count
                               and abs(s.lifetime_net_revenue - p.lifetime_net_revenue) < 0.005)
                          from marts.dim_customers s full join '{p}/dim_customers.parquet' p using (customer_id)""").fetchone()
    con.close()
    return {"customer_rfm_rows": rfm[0], "customer_rfm_equal": rfm[1],
            "dim_customers_rows": dim[0], "dim_customers_equal": dim[1],
            "all_equal": rfm[0] == rfm[1] and dim[0] == dim[1]}


def compare_clv(run_dir: Path, env, logs: Path) -> dict:
    source = run_dir / "warehouse.duckdb"
    summary = run_dir / "clv_summary.csv"
    exported = subprocess.run([PY, "-m", "bench.clv_compare", "export", "--database", str(source), "--out",
                               str(summary)], env=env, cwd=data.BENCH_DIR.parent, capture_output=True, text=True)
    if exported.returncode != 0:
        return {"status": f"no summaries: {exported.stderr.strip().splitlines()[-1:]}"}
    ours = _fit_json([PY, "-m", "bench.clv_compare", "fit", "--summary", str(summary)], "clv_ml", env, logs)
    if not LIFETIMES_PY.exists():
        return {"status": "lifetimes venv missing: run `python -m bench setup-lifetimes`", "ml_clv": ours}
    theirs = _fit_json([str(LIFETIMES_PY), str(data.BENCH_DIR / "lifetimes_fit.py"), str(summary)], "clv_lifetimes",
                       env, logs)
    if "bgnbd" not in ours or "bgnbd" not in theirs:
        errors = {k: v.get("error") for k, v in (("ml_clv", ours), ("lifetimes", theirs)) if "error" in v}
        return {"status": f"a fit failed: {errors}", "ml_clv": ours, "lifetimes": theirs}
    from bench.clv_compare import log_likelihoods

    ll_ours = log_likelihoods(summary, ours["bgnbd"], ours["gamma_gamma"])
    ll_theirs = log_likelihoods(summary, theirs["bgnbd"], theirs["gamma_gamma"])
    agreement = {"bgnbd": report.param_agreement(ours["bgnbd"], theirs["bgnbd"]),
                 "gamma_gamma": report.param_agreement(ours["gamma_gamma"], theirs["gamma_gamma"]),
                 # a and b are weakly identified when almost nobody drops out; their ratio is what predicts.
                 "bgnbd_dropout_a_over_b": [ours["bgnbd"]["a"] / ours["bgnbd"]["b"],
                                            theirs["bgnbd"]["a"] / theirs["bgnbd"]["b"]],
                 "log_likelihood_ml_minus_lifetimes": {k: round(ll_ours[k] - ll_theirs[k], 4) for k in ll_ours}}
    time_ratio = report.ratio(ours["fit_s"], theirs["fit_s"])
    return {"ml_clv": ours, "lifetimes": theirs, "agreement": agreement, "time_ratio_ml_over_lifetimes": time_ratio,
            "summary": (f"ml.clv {ours['fit_s']:.2f}s vs lifetimes {theirs['fit_s']:.2f}s ({time_ratio}x); "
                        f"log-lik difference {agreement['log_likelihood_ml_minus_lifetimes']}")}


def _fit_json(argv, name, env, logs) -> dict:
    m = _m(name, argv, env, logs)
    lines = Path(m["log"]).read_text().strip().splitlines()
    try:
        return {**json.loads(next(line for line in reversed(lines) if line.startswith("{"))), "process": m}
    except StopIteration:
        return {"process": m, "error": (lines or ["no output"])[-1]}


def compare_incremental(run_dir: Path, env, logs: Path, stages_out: dict, held_back_day) -> dict:
    return incremental.compare(run_dir, logs, held_back_day, stages_out,
                               lambda name, argv: _m(name, argv, env, logs), PY)


def run(scale: Scale, seed: int, root: Path, skip: set[str], keep_run_dir: bool = True,
        pandas_memory_cap_mib: float | None = None, checkpoint=lambda result: None,
        copy_before_daily: Path | None = None) -> dict:
    """Generate (or reuse) the data, run every stage and comparison not in ``skip``.

    ``copy_before_daily``: where to keep a copy of the run directory as the full build left it, to
    re-measure the daily run on later (``python -m bench daily``).

    ``checkpoint(result)`` is called with the result so far after every stage part and comparison;
    the result says ``"complete": false`` until the end.
    """
    started = datetime.now(timezone.utc)
    cache = data.cache_dir(root, scale, seed)
    run_dir = cache / "run"
    logs = cache / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)

    if data.is_cached(cache):
        _say(f"using cached demo data in {cache}")
        generate = json.loads((cache / "generate.json").read_text())
        generate["cached"] = True
    else:
        _say(f"generating {scale.customers:,} customers x {scale.days} days into {cache}")
        cache.mkdir(parents=True, exist_ok=True)
        generate = _m("generate", [PY, "-m", "bench.gen", str(cache), str(scale.customers), str(scale.days), str(seed)],
                      data.run_env(run_dir), logs)
        if generate["returncode"] != 0:
            raise SystemExit(f"generation failed; see {generate['log']}")
        generate["landing_bytes"] = data.du_bytes(cache / "landing")
        (cache / "generate.json").write_text(json.dumps(generate))
        generate["cached"] = False
    prepared = data.prepare_run(cache, run_dir)
    env = data.run_env(run_dir)
    listing = present_parts(env)
    generated = {"status": "ok" if generate["returncode"] == 0 else "failed",
                 **{k: generate[k] for k in ("wall_s", "cpu_s", "peak_rss_mib", "peak_tree_rss_mib",
                                             "landing_bytes", "cached")}}
    result = {"scale": scale.name, "customers": scale.customers, "days": scale.days, "seed": seed,
              "started_at": started.isoformat(timespec="seconds"), "machine": _machine(), "code": _code(),
              "data": prepared, "skipped": sorted(skip),
              "unassigned_groups": listing["unassigned_groups"], "stages": {"generate": generated},
              "end_to_end": {}, "comparisons": {}, "complete": False}

    def progress(pipeline_so_far: dict | None = None) -> None:
        if pipeline_so_far is not None:  # run_pipeline's stages, always in pipeline order
            result["stages"] = {"generate": generated, **pipeline_so_far}
        result["end_to_end"] = report.end_to_end(result["stages"])
        checkpoint(result)

    progress()
    progress(run_pipeline(env, logs, listing["present"], skip, progress))
    stages_out = result["stages"]
    result["data"]["rows"] = _row_counts(run_dir / "warehouse.duckdb")
    progress()
    c = result["comparisons"]
    make_comparisons(run_dir, env, logs, stages_out, {"floor", "pandas", "clv"} - skip, pandas_memory_cap_mib, c,
                     progress)
    if "incremental" not in skip:
        if copy_before_daily is not None:
            _say(f"copying the run directory to {copy_before_daily}")
            data.copy_run_dir(run_dir, copy_before_daily)
        _say("daily run vs full build")
        c["incremental"] = compare_incremental(run_dir, env, logs, stages_out, prepared["held_back_day"])
    result["targets"] = report.judge(result)
    result["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    result["complete"] = True
    checkpoint(result)
    if not keep_run_dir:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result


def make_comparisons(run_dir: Path, env, logs: Path, stages_out: dict, wanted: set[str],
                     pandas_memory_cap_mib: float | None, comparisons: dict, checkpoint) -> None:
    """The floor, pandas and CLV comparisons in ``wanted``, into ``comparisons``; ``checkpoint()`` after each."""
    if "floor" in wanted:
        _say("SQL floor")
        comparisons["floor"] = {**compare_floor(run_dir, env, logs)}
        comparisons["floor"].update(report.overhead(stages_out, comparisons["floor"]))
        checkpoint()
    if "pandas" in wanted:
        _say("customer marts: DuckDB SQL vs pandas")
        comparisons["pandas"] = compare_pandas(run_dir, env, logs, pandas_memory_cap_mib)
        checkpoint()
    if "clv" in wanted:
        _say("CLV: ml.clv vs lifetimes")
        comparisons["clv"] = compare_clv(run_dir, env, logs)
        checkpoint()


def compare_afterwards(results_file: Path, root: Path, only: set[str], pandas_memory_cap_mib: float | None = None,
                       checkpoint=lambda result: None) -> dict:
    """The comparisons ``only`` (floor, pandas, clv), made now on the data and warehouse of the run that wrote
    ``results_file``, with that run's stages: its result plus these comparisons and their targets.

    A whole L run with every comparison does not fit in a working session here, so the pipeline and the
    comparisons can be measured one after the other on the same files. The run directory then holds what
    the run left: with its daily run, the landing zone has the held-back day again, so the floor and the
    pandas way read one delivery day more than the full build did (about 0.3% of the rows at 365 days).
    """
    result = json.loads(results_file.read_text())
    run_dir = data.cache_dir(root, parse_scale(f"{result['customers']}x{result['days']}"), result["seed"]) / "run"
    if not (run_dir / "warehouse.duckdb").exists():
        raise SystemExit(f"{run_dir} holds no warehouse: the run of {results_file} was not kept, or --data-root "
                         "points elsewhere")
    env, logs = data.run_env(run_dir), run_dir.parent / "logs"
    held_back_day = result["data"].get("held_back_day")
    held_back_again = bool(held_back_day) and any((run_dir / "landing").glob(f"*/{held_back_day}"))
    result["comparisons_afterwards"] = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                        "code": _code(), "pipeline_results": str(results_file),
                                        "landing_includes_held_back_day": held_back_again}
    make_comparisons(run_dir, env, logs, result["stages"], only, pandas_memory_cap_mib, result["comparisons"],
                     lambda: checkpoint(result))
    result["targets"] = report.judge(result)
    result["comparisons_afterwards"]["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    checkpoint(result)
    return result


def _row_counts(database: Path, names: list[str] | None = None) -> dict:
    import duckdb

    if not database.exists():
        return {}
    con = duckdb.connect(str(database), read_only=True)
    try:
        listed = {r[0] for r in con.execute("select schema_name || '.' || table_name from duckdb_tables() "
                                            "union all select schema_name || '.' || view_name from duckdb_views()"
                                            ).fetchall()}
        if names is None:
            names = sorted(n for n in listed if n.split(".")[0] in ("raw", "marts"))
        names = [n for n in names if n in listed]
        return {n: con.execute(f"select count(*) from {n}").fetchone()[0] for n in names}
    finally:
        con.close()


def _code() -> dict:
    """What was measured: the commit, and any uncommitted changes in the work tree (they count too)."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=data.BENCH_DIR.parent, capture_output=True, text=True).stdout

    dirty = [line[3:] for line in git("status", "--porcelain").splitlines()
             if line[3:] and not line[3:].startswith("bench/")]
    return {"commit": git("rev-parse", "HEAD").strip(), "uncommitted_outside_bench": dirty}


def _machine() -> dict:
    import os
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_at_start": os.getloadavg(),
            "mem_total_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def results_path(scale_name: str, out_dir: Path = RESULTS_DIR) -> Path:
    return out_dir / f"{scale_name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"


def save(result: dict, path: Path) -> Path:
    """Write the result (again) to ``path``, atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1, default=str))
    tmp.replace(path)
    return path
