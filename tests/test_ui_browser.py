"""The Dagster UI in a real headless Chromium: the asset graph, a materialization and a backfill of a date range."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from warehouse_build import PROJECT_ROOT, QUIET

import dagster as dg

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out, which a closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STARTUP_SECONDS = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dagster dev exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {STARTUP_SECONDS}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package (.ci/run does)")
    from landing.generate import generate

    root = tmp_path_factory.mktemp("ui")
    data = root / "data"
    home = data / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    generate(out_dir=data / "landing", truth_dir=data / "truth", customers=30, days=3, seed=11)
    port = _free_port()
    venv_bin = Path(sys.executable).parent
    # dagster-dbt runs plain `dbt` under `dagster dev`: the venv's must come first on PATH.
    env = {**os.environ, **QUIET, "DATA_DIR": str(data), "DAGSTER_HOME": str(home),
           "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    for key in ("DUCKDB_DATABASE", "LANDING_DIR", "SERVING_DIR"):
        env.pop(key, None)
    log = root / "dagster_dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(venv_bin / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
                                 "-p", str(port)], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/server_info", proc, log)
        yield {"url": f"http://127.0.0.1:{port}", "home": home, "data": data, "root": root, "log": log}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def page(dagster_ui):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def _dismiss_welcome(page) -> None:
    # A fresh DAGSTER_HOME greets the first visit with a newsletter dialog over the graph.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(state="visible", timeout=5_000)
    except Exception:
        return
    skip.click()


def _group(dagster_ui, page, group: str) -> None:
    page.goto(f"{dagster_ui['url']}/locations/customer_warehouse/asset-groups/{group}")
    _dismiss_welcome(page)


@pytest.mark.slow
def test_asset_graph_shows_the_lineage(dagster_ui, page):
    import re

    from landing.contract import SOURCES

    _group(dagster_ui, page, "ingest")
    # The graph draws only the nodes in view and centres where its layout puts them, which moves when an
    # edge is added: any raw source's node must render, whichever is in view.
    sources = re.compile("^(" + "|".join(SOURCES) + ")$")
    page.get_by_text(sources).first.wait_for(state="visible")
    page.screenshot(path=str(dagster_ui["root"] / "ingest_lineage.png"))
    # Order lines load after orders (an erased customer's new order takes its lines with it).
    page.goto(f"{dagster_ui['url']}/assets/raw/order_items")
    page.get_by_text("Upstream assets", exact=True).first.wait_for(state="visible")
    page.get_by_text("raw / orders", exact=True).first.wait_for(state="visible")
    # The marts graph draws only what is in view, so each mart is checked on its own page: its lineage
    # runs from staging to the published snapshot.
    for name in ("customer_rfm", "dim_customers", "fct_orders"):
        page.goto(f"{dagster_ui['url']}/assets/marts/{name}")
        page.get_by_text("Upstream assets", exact=True).first.wait_for(state="visible")
        page.get_by_text("serving / warehouse_snapshot", exact=True).first.wait_for(state="visible")
    page.screenshot(path=str(dagster_ui["root"] / "customer_rfm.png"))
    page.goto(f"{dagster_ui['url']}/assets/serving/warehouse_snapshot")
    page.get_by_text("What BI tools read", exact=False).first.wait_for(state="visible")
    page.screenshot(path=str(dagster_ui["root"] / "snapshot_asset.png"))
    page.get_by_text("data-engineering", exact=False).first.wait_for(state="visible")


@pytest.mark.slow
def test_a_materialization_launched_in_the_ui_succeeds(dagster_ui, page):
    page.goto(f"{dagster_ui['url']}/assets/raw/products")
    _dismiss_welcome(page)
    page.locator("button", has_text="Materialize").first.click()
    deadline = time.monotonic() + 180
    status = None
    with dg.DagsterInstance.from_config(str(dagster_ui["home"])) as instance:
        while time.monotonic() < deadline:
            runs = instance.get_runs()
            status = runs[0].status if runs else None
            if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
                break
            time.sleep(2)
        assert runs, "no run was launched from the UI"
        run_events = "\n".join(f"{e.dagster_event.event_type_value if e.dagster_event else '-'}: {e.message}"
                               for e in instance.all_logs(runs[0].run_id))
        assert status == dg.DagsterRunStatus.SUCCESS, (
            f"run events:\n{run_events[-4000:]}\n\ndagster dev log:\n{dagster_ui['log'].read_text()[-3000:]}")
        event = instance.get_latest_materialization_event(dg.AssetKey(["raw", "products"]))
        assert event is not None and event.run_id == runs[0].run_id
    page.goto(f"{dagster_ui['url']}/runs/{runs[0].run_id}")
    page.get_by_text("Success", exact=False).first.wait_for(state="visible")
    page.screenshot(path=str(dagster_ui["root"] / "run.png"))


def _wait_for_runs(instance: dg.DagsterInstance, run_filter: dg.RunsFilter | None = None,
                   not_in: frozenset = frozenset(), timeout: float = 300):
    """The runs matching ``run_filter`` (and not in ``not_in``) once they have all finished (at least one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in instance.get_runs(filters=run_filter) if r.run_id not in not_in]
        if runs and all(r.is_finished for r in runs):
            return runs
        time.sleep(2)
    raise AssertionError(f"runs {run_filter} did not finish within {timeout}s: {instance.get_runs(filters=run_filter)}")


def _run_events(instance: dg.DagsterInstance, run_id: str) -> str:
    return "\n".join(f"{e.dagster_event.event_type_value if e.dagster_event else '-'}: {e.message}"
                     for e in instance.all_logs(run_id))[-4000:]


@pytest.mark.slow
def test_a_backfill_of_a_date_range_launched_in_the_ui_loads_those_delivery_folders_in_one_run(dagster_ui, page):
    days = sorted(d.name for d in (dagster_ui["data"] / "landing" / "orders").iterdir())
    assert len(days) == 3, days
    first, last = days[0], days[1]  # the third day stays unloaded
    with dg.DagsterInstance.from_config(str(dagster_ui["home"])) as instance:
        # raw.orders' suite checks that every order's customer is known: load the customers first (not partitioned)
        page.goto(f"{dagster_ui['url']}/assets/raw/customers")
        _dismiss_welcome(page)
        earlier = frozenset(r.run_id for r in instance.get_runs())
        page.locator("button", has_text="Materialize").first.click()
        [customers_run] = _wait_for_runs(instance, not_in=earlier)
        assert customers_run.status == dg.DagsterRunStatus.SUCCESS, _run_events(instance, customers_run.run_id)

        # The backfill: raw/orders' page, Materialize, a range of delivery dates, Launch backfill.
        page.goto(f"{dagster_ui['url']}/assets/raw/orders")
        page.locator("button", has_text="Materialize").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Backfills all partitions in a single run.").wait_for(state="visible")
        selector = dialog.get_by_placeholder("No matching partitions")
        selector.fill(f"[{first}...{last}]")
        selector.press("Enter")
        dialog.get_by_text("2 partitions", exact=True).wait_for(state="visible")
        page.screenshot(path=str(dagster_ui["root"] / "backfill_dialog.png"))
        dialog.get_by_role("button", name="Launch backfill").click()
        dialog.wait_for(state="hidden")

        # the daemon picks the backfill up and runs it: one run for the whole range
        deadline = time.monotonic() + 120
        while not instance.get_backfills() and time.monotonic() < deadline:
            time.sleep(1)
        [backfill] = instance.get_backfills()
        [run] = _wait_for_runs(instance, dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
        assert run.status == dg.DagsterRunStatus.SUCCESS, (
            f"run events:\n{_run_events(instance, run.run_id)}\n\ndagster dev log:\n{dagster_ui['log'].read_text()[-3000:]}")
        assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) \
            == (first, last)
        assert instance.get_materialized_partitions(dg.AssetKey(["raw", "orders"])) == {first, last}
        # and marks the backfill done once it has seen its run's materializations
        deadline = time.monotonic() + 180
        while instance.get_backfill(backfill.backfill_id).status.value == "REQUESTED":
            assert time.monotonic() < deadline, "the daemon never completed the backfill"
            time.sleep(2)
        assert instance.get_backfill(backfill.backfill_id).status.value == "COMPLETED_SUCCESS"

    # exactly the two days' folders were loaded, every record of them (loaded or quarantined)
    import duckdb

    from orchestration.defs.ingest.files import count_records, discover

    with duckdb.connect(str(dagster_ui["data"] / "warehouse.duckdb"), read_only=True) as con:
        loaded = dict(con.execute("select split_part(_source_file, '/', 2), count(*) from raw.orders group by 1"
                                  ).fetchall())
        ledger = {d: (landed, ok) for d, landed, ok in con.execute(
            "select delivery_date, sum(rows_landed), sum(rows_loaded) from quality.ingest_files "
            "where source = 'orders' group by 1").fetchall()}
    assert set(loaded) == set(ledger) == {first, last}
    for day in (first, last):
        landed = sum(count_records(f) for f in discover(dagster_ui["data"] / "landing", "orders", {day}))
        assert ledger[day] == (landed, loaded[day]), day
    page.goto(f"{dagster_ui['url']}/runs/b/{backfill.backfill_id}")
    page.get_by_text(f"{first}...{last}", exact=True).wait_for(state="visible")
    page.get_by_text("100% completed", exact=True).first.wait_for(state="visible")
    page.get_by_text("Succeeded", exact=True).first.wait_for(state="visible")
    page.screenshot(path=str(dagster_ui["root"] / "backfill.png"))
