"""The benchmark harness: its measurements, its ratios, and one real run end to end at a tiny scale.

The end-to-end run drives the real pipeline stage by stage (Dagster, dbt, checks, ML, publish,
report) on 200 customers x 30 days. It asserts the shape and arithmetic of the results file,
never a speed: speed targets live in the benchmark itself.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench import report, stages
from bench.measure import run_measured

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_measure_sees_a_grandchild_peak_and_cpu():
    # The dbt stage's memory is in dbt, a child of the Dagster process: wait4 must report it.
    grandchild = "import time; b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}], check=True)"
    m = run_measured("nested", _python(child))
    assert m.returncode == 0
    assert m.peak_rss_mib >= 300
    assert m.peak_tree_rss_mib >= m.peak_rss_mib
    burn = run_measured("burn", _python("x = 0\nfor i in range(3_000_000): x += i"))
    assert burn.cpu_s > 0.05 and burn.wall_s >= burn.cpu_s * 0.5


def test_measure_stops_a_process_tree_at_the_memory_cap():
    # What keeps the pandas way at L/XL from pushing the machine into the OOM killer.
    grows = "import time\nchunks = []\nfor _ in range(40):\n    b = bytearray(50 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); chunks.append(b); time.sleep(0.05)\ntime.sleep(5)"
    m = run_measured("grows", _python(grows), memory_cap_mib=300)
    assert m.stopped_at_memory_cap and m.returncode == -signal.SIGKILL  # killed, not left to finish
    assert 300 <= m.peak_tree_rss_mib < 1500
    small = run_measured("small", _python("b = bytearray(50 * 1024 * 1024)"), memory_cap_mib=300)
    assert not small.stopped_at_memory_cap and small.returncode == 0


def test_combine_adds_times_and_takes_the_largest_peak():
    parts = [{"wall_s": 1.0, "cpu_s": 0.5, "peak_rss_mib": 100.0, "peak_tree_rss_mib": 120.0, "returncode": 0},
             {"wall_s": 2.5, "cpu_s": 2.0, "peak_rss_mib": 300.0, "peak_tree_rss_mib": 310.0, "returncode": 1}]
    c = report.combine(parts)
    assert (c["wall_s"], c["cpu_s"], c["peak_rss_mib"], c["peak_tree_rss_mib"], c["ok"]) == (3.5, 2.5, 300.0, 310.0, False)


def test_ratios():
    stages_ = {"generate": {"wall_s": 99, "cpu_s": 99, "peak_tree_rss_mib": 9},
               "ingest": {"wall_s": 10, "cpu_s": 8, "peak_tree_rss_mib": 500},
               "checks": {"wall_s": 5, "cpu_s": 4, "peak_tree_rss_mib": 400},
               "dbt": {"wall_s": 15, "cpu_s": 12, "peak_tree_rss_mib": 900},
               "ml": {"wall_s": 20, "cpu_s": 20, "peak_tree_rss_mib": 700},
               "report": {"status": "absent"}, "publish": {"status": "skipped"}}
    o = report.overhead(stages_, {"wall_s": 12.0, "cpu_s": 6.0})
    assert o == {"pipeline_wall_s": 30, "floor_wall_s": 12.0, "wall_ratio": 2.5, "cpu_ratio": 4.0}
    e = report.end_to_end(stages_)
    assert (e["wall_s"], e["cpu_s"], e["peak_tree_rss_mib"]) == (50, 44, 900)
    p = report.pandas_vs_sql({"wall_s": 2.0, "cpu_s": 3.0, "peak_rss_mib": 100.0},
                             {"wall_s": 8.0, "cpu_s": 6.0, "peak_rss_mib": 400.0})
    assert (p["speedup"], p["cpu_speedup"], p["memory_fraction"]) == (4.0, 2.0, 0.25)
    assert report.param_agreement({"r": 1.1, "a": 2.0}, {"r": 1.0, "a": 2.0}) == {"r": 0.1, "a": 0.0}
    assert report.ratio(1.0, 0) is None


def test_ratios_need_what_they_compare():
    # A skipped pipeline stage leaves no overhead ratio (not a flattering one); comparisons alone, no end to end.
    stages_ = {"ingest": {"wall_s": 10, "cpu_s": 8, "peak_tree_rss_mib": 5}, "checks": {"status": "skipped"},
               "dbt": {"wall_s": 15, "cpu_s": 12, "peak_tree_rss_mib": 9}}
    o = report.overhead(stages_, {"wall_s": 12.0, "cpu_s": 6.0})
    assert (o["wall_ratio"], o["cpu_ratio"], o["pipeline_not_measured"]) == (None, None, ["checks"])
    assert report.end_to_end({"generate": {"wall_s": 5, "cpu_s": 5, "peak_tree_rss_mib": 1},
                              "ingest": {"status": "skipped"}})["wall_s"] is None
    # part of the pipeline measured: its sum is kept, but says nothing of the end-to-end targets when under them
    e = report.end_to_end({**stages_, "privacy": {"status": "absent"}})
    assert (e["wall_s"], e["not_measured"]) == (25, ["checks"])
    judged = report.judge({"end_to_end": e, "comparisons": {}})
    assert judged["end_to_end_s"]["met"] is None and judged["peak_mib"]["met"] is None
    over = report.judge({"end_to_end": {**e, "wall_s": 900.0}, "comparisons": {}})
    assert over["end_to_end_s"]["met"] is False  # over the target already with a part of the pipeline


def test_pandas_stopped_at_the_cap_gives_bounds():
    p = report.pandas_vs_sql({"wall_s": 10.0, "cpu_s": 10.0, "peak_rss_mib": 1000.0},
                             {"wall_s": 20.0, "cpu_s": 15.0, "peak_rss_mib": 15000.0, "stopped_at_memory_cap": True},
                             memory_cap_mib=16000.0)
    assert (p["speedup"], p["speedup_is"], p["memory_fraction_is"]) == (2.0, "at least", "at most")
    assert (p["pandas_peak_mib"], p["memory_fraction"]) == (16000.0, 0.062)  # it needed more than the cap
    judged = report.judge({"end_to_end": {}, "comparisons": {"pandas": p}})
    assert judged["pandas_speedup"]["met"] is None  # at least 2x says nothing about a 3x target
    assert judged["pandas_memory_fraction"]["met"] is True
    loose = report.pandas_vs_sql({"wall_s": 10.0, "cpu_s": 10.0, "peak_rss_mib": 8000.0},
                                 {"wall_s": 5.0, "cpu_s": 5.0, "peak_rss_mib": 15000.0, "stopped_at_memory_cap": True},
                                 memory_cap_mib=16000.0)
    judged = report.judge({"end_to_end": {}, "comparisons": {"pandas": loose}})
    assert judged["pandas_memory_fraction"]["met"] is None  # at most 0.5: may or may not be under a third


def test_judge_marks_each_target():
    result = {"end_to_end": {"wall_s": 700.0, "peak_tree_rss_mib": 1000.0},
              "comparisons": {"floor": {"wall_ratio": 1.2}, "pandas": {"speedup": 2.0, "memory_fraction": 0.2},
                              "incremental": {"status": "not available yet"}}}
    j = report.judge(result)
    assert [j[k]["met"] for k in ("end_to_end_s", "peak_mib", "overhead_vs_floor", "pandas_speedup",
                                  "pandas_memory_fraction", "incremental_fraction")] == [False, True, True, False, True, None]


def test_the_floor_scope_runs_what_the_floors_tables_are_made_of_and_nothing_else():
    import dagster as dg

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    chosen = stages.selection(defs, stages.FLOOR_SCOPE)
    assets = {k.to_user_string() for k in chosen.resolve(graph)}
    checks = chosen.resolve_checks(graph)
    # every source, as the floor loads every source, and the floor's tables
    assert {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "raw"} <= assets
    assert set(stages.FLOOR_TABLES) <= assets
    # what they are made of: the pseudonyms staging joins, the models between staging and the marts
    made_of = {"staging/customer_pseudonyms", "staging/stg_shop__orders", "intermediate/int_web_events_sessionized"}
    assert made_of <= assets
    # nothing the floor has no counterpart for: no other mart, no model, nothing after dbt
    assert not {"marts/customer_lifecycle_monthly", "marts/kpi_daily", "intermediate/int_customer_preferences"} & assets
    assert not any(a.split("/")[0] in ("ml", "serving", "report") for a in assets)
    # with their dbt tests and expectation suites, which are part of the overhead measured
    assert dg.AssetCheckKey(dg.AssetKey(["marts", "fct_orders"]), "expectation_suite") in checks
    assert any(k.asset_key == dg.AssetKey(["marts", "dim_customers"]) and k.name != "expectation_suite" for k in checks)
    assert all(k.asset_key.to_user_string() in assets for k in checks)


@pytest.mark.slow
def test_harness_end_to_end_at_a_tiny_scale(tmp_path):
    # No CLV comparison: the lifetimes venv is set up by hand (`python -m bench setup-lifetimes`), not in CI.
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "--scale", "400x90", "--data-root", str(tmp_path / "data"),
                           "--results-dir", str(tmp_path / "results"), "--skip", "clv",
                           "--copy-before-daily", str(tmp_path / "before_daily")],
                          cwd=ROOT, capture_output=True, text=True, timeout=1500)
    files = list((tmp_path / "results").glob("400x90-*.json"))
    assert len(files) == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(files[0].read_text())
    assert "overhead:" in proc.stdout and "target " in proc.stdout
    assert result["complete"] is True and result["skipped"] == ["clv"]

    assert list(result["stages"]) == stages.STAGES
    for name, s in result["stages"].items():
        # every stage present must succeed: a failing step makes every figure after it meaningless
        logs = [p["log"] for p in s.get("parts", []) if p.get("returncode")]
        assert s["status"] in ("ok", "absent"), (name, s["status"], logs, proc.stdout[-2000:])
        if s["status"] != "absent":
            for key in ("wall_s", "cpu_s", "peak_rss_mib", "peak_tree_rss_mib"):
                assert s[key] > 0, (name, key)
    for must_run in ("generate", "ingest", "checks", "dbt"):
        assert result["stages"][must_run]["status"] != "absent", must_run

    # The recorded ratios are the arithmetic of the recorded numbers.
    st, c = result["stages"], result["comparisons"]
    pipeline = sum(st[n]["wall_s"] for n in report.PIPELINE_STAGES)
    assert c["floor"]["wall_ratio"] == pytest.approx(pipeline / c["floor"]["wall_s"], rel=1e-2)
    assert c["pandas"]["speedup"] == pytest.approx(c["pandas"]["pandas"]["wall_s"] / c["pandas"]["sql"]["wall_s"], rel=1e-2)
    assert c["pandas"]["memory_fraction"] == pytest.approx(
        c["pandas"]["sql"]["peak_rss_mib"] / c["pandas"]["pandas"]["peak_rss_mib"], rel=1e-2)
    assert c["pandas"]["agree"]["all_equal"], c["pandas"]["agree"]
    e2e = sum(s["wall_s"] for n, s in st.items() if n != "generate" and s["status"] != "absent")
    assert result["end_to_end"]["wall_s"] == pytest.approx(e2e, rel=1e-3)
    assert "status" in c["incremental"] or c["incremental"]["daily"]["ok"], c["incremental"]
    if "status" not in c["incremental"]:
        i = c["incremental"]
        measured = i["full_as_measured"]
        # the daily run is one process, as the schedule runs it; the full build's side drops the start-ups
        # of its parts but one (every part pays a start-up and more, so one start-up is below the daily run)
        assert 0 < measured["startup_cpu_s"] < i["daily"]["cpu_s"]
        assert measured["wall_s"] == pytest.approx(sum(st[n]["wall_s"] for n in report.DAILY_STAGES), rel=1e-3)
        for kind in ("wall", "cpu"):
            assert i[f"full_{kind}_s"] == pytest.approx(
                measured[f"{kind}_s"] - (measured["processes"] - 1) * measured[f"startup_{kind}_s"], abs=1e-2)
            assert i[f"{kind}_ratio"] == pytest.approx(i["daily"][f"{kind}_s"] / i[f"full_{kind}_s"], rel=1e-2)
        # the one run did every compared stage's work: the day's ingest, suites, dbt models and tests, scoring
        steps = i["daily"]["timings"]["steps_s"]
        assert any(s.startswith("raw__web_events") and "expectation_suite" not in s for s in steps), steps
        assert any("expectation_suite" in s for s in steps) and any(s.startswith("ml__") for s in steps), steps
        assert i["daily"]["timings"]["dbt_tests_count"] > 0 and i["partitioned_steps"]["daily_s"] > 0
    # The second run reuses the cached data instead of generating again.
    assert not result["stages"]["generate"]["cached"]

    # A comparison can be made again afterwards, on the kept run (at L the run and its comparisons do not
    # fit in one working session): the same arithmetic against the run's own stages.
    again = subprocess.run([sys.executable, "-m", "bench", "compare", str(files[0]), "--data-root",
                            str(tmp_path / "data"), "--only", "floor"], cwd=ROOT, capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    compared = json.loads(files[0].with_name(files[0].stem + "-compared.json").read_text())
    floor = compared["comparisons"]["floor"]
    assert floor["returncode"] == 0 and floor["wall_ratio"] == pytest.approx(pipeline / floor["wall_s"], rel=1e-2)
    # like for like: the pipeline limited to the floor's tables, from an empty warehouse, built the same rows
    same = floor["same_tables"]
    assert same["returncode"] == 0, same["log"]
    assert same["wall_ratio"] == pytest.approx(same["wall_s"] / floor["wall_s"], rel=1e-2)
    assert all(v["pipeline"] == floor["parity"][k]["pipeline"] for k, v in same["parity"].items()), same["parity"]
    assert 0 < same["timings"]["dbt_models_count"] < c["incremental"].get("daily", {}).get(
        "timings", {}).get("dbt_models_count", 10**6)
    assert compared["targets"]["overhead_vs_floor"] == {"value": same["wall_ratio"], "target": 1.5,
                                                        "met": same["wall_ratio"] <= 1.5, "basis": "same tables"}
    assert "the floor's tables only" in again.stdout
    assert compared["comparisons"]["pandas"] == c["pandas"], "comparisons not asked for are kept as they were"
    assert all(v["floor"] and v["pipeline"] for v in floor["parity"].values()), floor["parity"]
    afterwards = compared["comparisons_afterwards"]
    assert afterwards["landing_includes_held_back_day"] is ("status" not in c["incremental"])
    assert afterwards["pipeline_results"] == str(files[0]) and "overhead:" in again.stdout

    # The daily run alone can be measured again on the copy of the run directory the full build left: the
    # held-back day is delivered to it and loaded as in the benchmark's own daily run.
    if "status" not in c["incremental"]:
        before = tmp_path / "before_daily"
        assert (before / "held_back").is_dir() and (before / "warehouse.duckdb").is_file()
        landed = next(p for p in (before / "landing").rglob("*") if p.is_file())
        assert landed.stat().st_nlink > 1, "landing files are linked, not copied"
        day, out = c["incremental"]["daily_partition"], tmp_path / "daily.json"
        rerun = subprocess.run([sys.executable, "-m", "bench", "daily", str(before), "--day", day, "--out", str(out)],
                               cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
        figures = json.loads(out.read_text())
        assert figures["daily"]["ok"] and figures["daily_partition"] == day and figures["daily"]["cpu_s"] > 0
        assert set(figures["daily"]["timings"]["steps_s"]) == set(c["incremental"]["daily"]["timings"]["steps_s"])
        assert figures["data"] == c["incremental"]["data"], "the same day's rows, loaded into the same warehouse"


def test_suites_are_timed_whole_and_on_the_newest_writes_of_a_built_warehouse(built_warehouse, tmp_path):
    out = tmp_path / "suites.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "suites", str(built_warehouse.database), "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    suites = result["suites"]
    assert all(s[mode]["success"] for s in suites.values() for mode in ("whole", "changed")), proc.stdout
    orders = suites["raw.orders"]
    assert orders["whole"]["scope"] == "every row" and orders["changed"]["scope"].startswith("rows of load batch")
    assert 0 < orders["changed"]["rows_checked"] <= orders["whole"]["rows_checked"] == orders["whole"]["row_count"]
    assert suites["marts.fct_orders"]["changed"]["scope"].startswith("rows built at")
    assert suites["marts.dim_customers"]["changed"]["scope"] == "every row"
    assert result["totals"]["whole"]["wall_s"] == pytest.approx(sum(s["whole"]["wall_s"] for s in suites.values()),
                                                                abs=0.01)
    assert "all suites" in proc.stdout
