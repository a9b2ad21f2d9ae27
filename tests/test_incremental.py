"""Incremental facts equal a full refresh on the same data, after late files and status updates.

Starts from a copy of the session's demo warehouse (built by the real CLI), lands files the
way feeds do (a late file in an old delivery folder, a status update re-delivered in a new
folder), loads them with the real loader and runs the real dbt project incrementally; a second
copy of the same raw data is rebuilt with ``--full-refresh``; the facts must match row for row.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from warehouse_build import PROJECT_ROOT, QUIET

from landing.contract import SOURCES
from orchestration.defs.ingest.loader import load_source

FACTS = ("marts.fct_orders", "marts.fct_order_items")
DBT = str(Path(sys.executable).with_name("dbt"))


def dbt(database: Path, *args: str) -> subprocess.CompletedProcess:
    work = database.parent / "dbt_work"
    env = {**os.environ, **QUIET, "DUCKDB_DATABASE": str(database)}
    proc = subprocess.run(
        [DBT, *args, "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        cwd=PROJECT_ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def build_facts(database: Path, *extra: str) -> None:
    """The incremental facts and everything upstream: they read the shop staging and order-line tables,
    which must be rebuilt from the new raw rows first (as every Dagster run that loads data does)."""
    dbt(database, "build", "--select", "+fct_orders", "+fct_order_items", *extra)


def table_digest(database: Path, table: str) -> tuple[int, str]:
    """Row count and a checksum of the whole content, independent of row order."""
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(f"select * from {table}").fetchall()
    lines = sorted(repr(r) for r in rows)
    return len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def digests(database: Path) -> dict[str, tuple[int, str]]:
    return {t: table_digest(database, t) for t in FACTS}


def write_csv(path: Path, source: str, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = SOURCES[source].column_names
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else str(row[k])) for k in names})


def load(data_dir: Path, *sources: str) -> None:
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        for source in sources:
            load_source(con, source, data_dir / "landing", rejected_dir=data_dir / "rejected_files")


@pytest.fixture()
def warehouse_copy(built_warehouse, tmp_path) -> Path:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copytree(built_warehouse.landing_dir, data_dir / "landing")
    shutil.copy2(built_warehouse.database, data_dir / "warehouse.duckdb")
    return data_dir


def _existing_orders(database: Path, status: str, n: int) -> list[dict]:
    with duckdb.connect(str(database), read_only=True) as con:
        cur = con.execute(
            "select * exclude (_batch_id, _source_file, _source_row, _loaded_at) from raw.orders "
            "where order_id in (select order_id from marts.fct_orders where status = ? order by order_id limit ?)",
            [status, n])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def test_incremental_equals_full_refresh_after_late_file_and_status_update(warehouse_copy, tmp_path):
    data_dir = warehouse_copy
    db = data_dir / "warehouse.duckdb"
    landing = data_dir / "landing"
    build_facts(db)  # the fixture's warehouse may predate this dbt code: bring it to the current models
    before = digests(db)
    with duckdb.connect(str(db), read_only=True) as con:
        watermark = con.execute("select max(source_loaded_at) from marts.fct_orders").fetchone()[0]
        delivery_dates = sorted(r[0] for r in con.execute(
            "select distinct split_part(_source_file, '/', 2) from raw.orders").fetchall())
        customer = con.execute("select min(customer_id) from raw.orders").fetchone()[0]
        product = con.execute("select min(product_id) from marts.fct_order_items").fetchone()[0]

    # 1. A status update re-delivered in a new folder: a completed order is returned.
    returned = _existing_orders(db, "completed", 1)[0]
    returned.update(status="returned", updated_at="2099-01-01 00:00:00")
    new_day = "2099-01-01"
    write_csv(landing / "orders" / new_day / "orders_status_updates.csv", "orders", [returned])
    # 2. A late file for an old delivery date: a new order, its lines, and a late extra line
    #    of an order already built (a cancelled one: completed orders must reconcile with their lines).
    old_day = delivery_dates[len(delivery_dates) // 2]
    late_order = {"order_id": "OLATE000001", "customer_id": customer, "ordered_at": f"{old_day} 10:00:00",
                  "channel": "web", "status": "completed", "subtotal_amount": "30.00", "discount_amount": "0.00",
                  "shipping_amount": "4.90", "total_amount": "34.90", "updated_at": f"{old_day} 10:00:00"}
    write_csv(landing / "orders" / old_day / "orders_late.csv", "orders", [late_order])
    extra_line_order = _existing_orders(db, "cancelled", 1)[0]
    write_csv(landing / "order_items" / old_day / "order_items_late.csv", "order_items", [
        {"order_id": "OLATE000001", "line_number": 1, "product_id": product, "quantity": 2, "unit_price": "15.00",
         "ordered_at": f"{old_day} 10:00:00"},
        {"order_id": extra_line_order["order_id"], "line_number": 99, "product_id": product, "quantity": 1,
         "unit_price": "1.00", "ordered_at": str(extra_line_order["ordered_at"])},
    ])
    load(data_dir, "orders", "order_items")

    # The full-refresh twin gets exactly the same raw data.
    twin = tmp_path / "twin" / "warehouse.duckdb"
    twin.parent.mkdir()
    shutil.copy2(db, twin)

    build_facts(db)
    build_facts(twin, "--full-refresh")
    incremental, full = digests(db), digests(twin)
    assert incremental == full
    assert incremental != before

    with duckdb.connect(str(db), read_only=True) as con:
        # only the three changed orders were recomputed
        recomputed = con.execute("select order_id from marts.fct_orders where source_loaded_at > ? order by 1",
                                 [watermark]).fetchall()
        assert {r[0] for r in recomputed} == {returned["order_id"], "OLATE000001", extra_line_order["order_id"]}
        assert con.execute("select status from marts.fct_orders where order_id = ?",
                           [returned["order_id"]]).fetchone()[0] == "returned"
        assert {r[0] for r in con.execute("select order_status from marts.fct_order_items where order_id = ?",
                                          [returned["order_id"]]).fetchall()} == {"returned"}
        assert con.execute("select line_count from marts.fct_orders where order_id = 'OLATE000001'").fetchone()[0] == 1
        assert con.execute("select count(*) from marts.fct_order_items where order_id = ? and line_number = 99",
                           [extra_line_order["order_id"]]).fetchone()[0] == 1

    # Re-running with nothing new, or re-running a partition window (old and new day), changes nothing.
    build_facts(db)
    assert digests(db) == full
    build_facts(db, "--vars", json.dumps({"delivery_date_from": old_day, "delivery_date_to": old_day}))
    assert digests(db) == full
    build_facts(db, "--vars", json.dumps({"delivery_date_from": delivery_dates[0], "delivery_date_to": new_day}))
    assert digests(db) == full


def test_strategy_is_portable():
    """delete+insert on DuckDB, merge on other adapters (Spark needs a Delta/Iceberg/Hudi table)."""
    macro = (PROJECT_ROOT / "dbt_project" / "macros" / "incremental.sql").read_text()
    assert "'delete+insert' if target.type == 'duckdb' else 'merge'" in macro
    for model in ("fct_orders", "fct_order_items"):
        sql = (PROJECT_ROOT / "dbt_project" / "models" / "marts" / f"{model}.sql").read_text()
        assert "incremental_strategy=incremental_strategy_for_target()" in sql
        assert "materialized='incremental'" in sql
