"""Incremental models equal a full refresh on the same data.

Starts from a copy of the session's demo warehouse (built by the real CLI), lands files the
way feeds do (a late file in an old delivery folder, a status update re-delivered in a new
folder), loads them with the real loader and runs the real dbt project incrementally; a second
copy of the same raw data is rebuilt with ``--full-refresh``; the models must match row for row.
The order facts and the customer models on them (purchases, preferences, lifecycle months) are checked after
late files, status updates and a recategorised product, the clickstream chain after
late events that join two visits, a new day's events and raw event retention, the campaign touches
and tickets after a late touch, a re-sent ticket and retention.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
from warehouse_build import PROJECT_ROOT, QUIET

from landing.contract import SOURCES
from orchestration.defs.ingest.loader import load_source
from orchestration.defs.privacy.retention import apply_retention

# The incremental order chain: staging keeps the latest version of each order and line, the
# order-line totals and both facts recompute the changed orders, the models per customer on them
# (purchases, preferences, lifecycle months) the changed customers.
FACTS = ("staging.stg_shop__orders", "staging.stg_shop__order_items", "intermediate.int_order_lines_totaled",
         "marts.fct_orders", "marts.fct_order_items", "intermediate.int_customer_purchases",
         "intermediate.int_customer_preferences", "marts.customer_lifecycle_monthly")
ORDER_MODELS = {"stg_shop__orders": "staging/shop", "stg_shop__order_items": "staging/shop",
                "int_order_lines_totaled": "intermediate", "fct_orders": "marts", "fct_order_items": "marts"}
DBT = str(Path(sys.executable).with_name("dbt"))
WRITE_WATERMARKS = {"_built_at", "_catalog_loaded_at"}


def dbt(database: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    work = database.parent / "dbt_work"
    env = {**os.environ, **QUIET, "DUCKDB_DATABASE": str(database)}
    proc = subprocess.run(
        [DBT, *args, "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        cwd=PROJECT_ROOT / "dbt_project", env=env, capture_output=True, text=True, timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def build_facts(database: Path, *extra: str) -> None:
    """The incremental facts and everything upstream: they read the shop staging and order-line tables,
    which must be rebuilt from the new raw rows first (as every Dagster run that loads data does)."""
    dbt(database, "build", "--select", "+fct_orders", "+fct_order_items", "+int_customer_preferences",
        "+customer_lifecycle_monthly", *extra)


def table_digest(database: Path, table: str) -> tuple[int, str]:
    """Row count and a checksum of the whole content, independent of row order and of when each row was written
    (the watermark columns say when, and which inputs were newest then)."""
    with duckdb.connect(str(database), read_only=True) as con:
        columns = [r[0] for r in con.execute(f"select * from {table} limit 0").description
                   if r[0] not in WRITE_WATERMARKS]
        rows = con.execute(f"select {', '.join(columns)} from {table}").fetchall()
    lines = sorted(repr(r) for r in rows)
    return len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def digests(database: Path, tables: tuple[str, ...] = FACTS) -> dict[str, tuple[int, str]]:
    return {t: table_digest(database, t) for t in tables}


def build_incrementally_and_from_scratch(database: Path, tmp_path: Path, build, tables: tuple[str, ...]):
    """Builds ``database`` incrementally and a copy of it with ``--full-refresh``, from the same raw data:
    the digests of ``tables`` in each."""
    twin = tmp_path / "twin" / "warehouse.duckdb"
    twin.parent.mkdir()
    shutil.copy2(database, twin)
    build(database)
    build(twin, "--full-refresh")
    return digests(database, tables), digests(twin, tables)


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


def _raw_rows(database: Path, table: str, where: str, params: list | None = None) -> list[dict]:
    """Raw rows as a feed delivered them (without the load metadata), ready to land again."""
    with duckdb.connect(str(database), read_only=True) as con:
        cur = con.execute(f"select * exclude (_batch_id, _source_file, _source_row, _loaded_at) from {table} "
                          f"where {where}", params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def _existing_orders(database: Path, status: str, n: int) -> list[dict]:
    return _raw_rows(database, "raw.orders",
                     "order_id in (select order_id from marts.fct_orders where status = ? order by order_id limit ?)",
                     [status, n])


def _sole_purchase(database: Path) -> dict:
    """The raw order of a customer whose one purchase it is (completed)."""
    return _raw_rows(database, "raw.orders", """order_id = (
        select min(order_id) from intermediate.int_customer_purchases
        where status = 'completed' and customer_key in (
            select customer_key from intermediate.int_customer_purchases group by 1 having count(*) = 1))""")[0]


def _purchases(database: Path, order_id: str) -> list[tuple]:
    """The purchases of the customer who bought ``order_id`` (in the table now): order, number, reactivation."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("""select order_id, purchase_number, is_reactivation from intermediate.int_customer_purchases
                              where customer_key = (select customer_key from intermediate.int_customer_purchases
                                                    where order_id = ?) order by purchase_number""",
                           [order_id]).fetchall()


def _single_product_buyer(database: Path, exclude: list[str]) -> tuple[str, str, str, str]:
    """A customer whose completed orders hold one product only, none of them in ``exclude``: (customer, product,
    its category, another category of the catalogue)."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("""
            with buyers as (
                select orders.customer_key, min(items.product_id) as product_id
                from staging.stg_shop__order_items as items
                inner join intermediate.int_order_lines_totaled as orders on items.order_id = orders.order_id
                where orders.is_completed
                group by orders.customer_key
                having count(distinct items.product_id) = 1
                   and not bool_or(orders.order_id in (select unnest(?)))
            )
            select buyers.customer_key, buyers.product_id, products.category,
                   (select min(category) from staging.stg_catalog__products where category <> products.category)
            from buyers
            inner join staging.stg_catalog__products as products on buyers.product_id = products.product_id
            order by buyers.customer_key limit 1""", [exclude]).fetchone()


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
    # 3. A customer's only purchase is cancelled, and an order of a customer with several purchases is
    #    re-delivered under another customer: both customers' purchases change although neither has a new row.
    cancelled = _sole_purchase(db)
    cancelled.update(status="cancelled", updated_at="2099-01-01 00:00:00")
    moved = _raw_rows(db, "raw.orders", """order_id = (
        select min(order_id) from intermediate.int_customer_purchases
        where status = 'completed' and order_id <> ? and customer_key in (
            select customer_key from intermediate.int_customer_purchases group by 1 having count(*) > 2))""",
                      [returned["order_id"]])[0]
    moved_from = _purchases(db, moved["order_id"])
    assert len(moved_from) > 1 and moved["customer_id"] != customer
    moved.update(customer_id=customer, updated_at="2099-01-01 00:00:00")
    write_csv(landing / "orders" / new_day / "orders_corrections.csv", "orders", [cancelled, moved])
    # 4. The catalogue moves a product to another category: the favourite category of a customer who bought
    #    only that product follows, though none of the customer's orders changed.
    loyal_customer, product, category, other_category = _single_product_buyer(db, exclude=[
        returned["order_id"], cancelled["order_id"], moved["order_id"], extra_line_order["order_id"]])
    moved_product = _raw_rows(db, "raw.products", "product_id = ? order by updated_at desc limit 1", [product])[0]
    moved_product.update(category=other_category, updated_at="2099-01-01 00:00:00")
    write_csv(landing / "products" / new_day / "products_recategorised.csv", "products", [moved_product])
    load(data_dir, "orders", "order_items", "products")

    incremental, full = build_incrementally_and_from_scratch(db, tmp_path, build_facts, FACTS)
    assert incremental == full
    assert incremental != before

    with duckdb.connect(str(db), read_only=True) as con:
        # only the changed orders were recomputed, in every model of the chain
        changed = {returned["order_id"], "OLATE000001", extra_line_order["order_id"], cancelled["order_id"],
                   moved["order_id"]}
        for table, loaded_at in (("marts.fct_orders", "source_loaded_at"),
                                 ("intermediate.int_order_lines_totaled", "source_loaded_at")):
            recomputed = con.execute(f"select order_id from {table} where {loaded_at} > ?", [watermark]).fetchall()
            assert {r[0] for r in recomputed} == changed, table
        assert con.execute("select status from marts.fct_orders where order_id = ?",
                           [returned["order_id"]]).fetchone()[0] == "returned"
        assert {r[0] for r in con.execute("select order_status from marts.fct_order_items where order_id = ?",
                                          [returned["order_id"]]).fetchall()} == {"returned"}
        assert con.execute("select line_count from marts.fct_orders where order_id = 'OLATE000001'").fetchone()[0] == 1
        assert con.execute("select count(*) from marts.fct_order_items where order_id = ? and line_number = 99",
                           [extra_line_order["order_id"]]).fetchone()[0] == 1
        assert con.execute("select count(*) from intermediate.int_customer_purchases where order_id = ?",
                           [cancelled["order_id"]]).fetchone()[0] == 0
        assert con.execute("select favourite_category from intermediate.int_customer_preferences "
                           "where customer_key = ?", [loyal_customer]).fetchone()[0] == other_category != category
        # the customer whose only purchase was cancelled has no favourites left
        assert con.execute("select count(*) from intermediate.int_customer_preferences where customer_key = ("
                           "select customer_key from marts.fct_orders where order_id = ?)",
                           [cancelled["order_id"]]).fetchone()[0] == 0
    # the moved order's former buyer has one purchase fewer, numbered again from 1
    rest = [order for order, _, _ in moved_from if order != moved["order_id"]]
    assert [(order, number) for order, number, _ in _purchases(db, rest[0])] == \
        [(order, n) for n, order in enumerate(rest, start=1)]
    assert moved["order_id"] in [order for order, _, _ in _purchases(db, "OLATE000001")]

    # Re-running with nothing new, or re-running a partition window (old and new day), changes nothing.
    build_facts(db)
    assert digests(db) == full
    build_facts(db, "--vars", json.dumps({"delivery_date_from": old_day, "delivery_date_to": old_day}))
    assert digests(db) == full
    build_facts(db, "--vars", json.dumps({"delivery_date_from": delivery_dates[0], "delivery_date_to": new_day}))
    assert digests(db) == full

    # Nothing is rebuilt whole: a mark left on an order no new raw row touches survives a run that
    # loads another status update (a rebuilt table would lose it); the updated order is recomputed.
    # (Its lines are marked nowhere: the update re-delivers no line, so they are rightly not re-staged.)
    with duckdb.connect(str(db), read_only=True) as con:
        untouched = con.execute("""select min(order_id) from marts.fct_orders where status = 'completed'
                                   and customer_key <> (select customer_key from marts.fct_orders where order_id = ?)
                                   and order_id in (select order_id from staging.stg_shop__order_items
                                                    where product_id <> ?)""",
                                [returned["order_id"], product]).fetchone()[0]
    marks = {"staging.stg_shop__orders": "_batch_id = 'mark'", "staging.stg_shop__order_items": "_batch_id = 'mark'",
             "intermediate.int_order_lines_totaled": "distinct_product_count = -1",
             "intermediate.int_customer_purchases": "channel = 'mark'"}
    with duckdb.connect(str(db)) as con:
        for table, mark in marks.items():
            marked = [untouched] if table.endswith("order_items") else [untouched, returned["order_id"]]
            con.execute(f"update {table} set {mark} where order_id in (select unnest(?))", [marked])
        con.execute("""update intermediate.int_customer_preferences set favourite_channel = 'mark' where customer_key in (
                           select customer_key from marts.fct_orders where order_id in (?, ?))""",
                    [untouched, returned["order_id"]])
    returned.update(status="completed", updated_at="2099-01-02 00:00:00")
    write_csv(landing / "orders" / "2099-01-02" / "orders_status_updates.csv", "orders", [returned])
    # A new price for a product the untouched customer bought re-ranks nobody's favourites.
    repriced = _raw_rows(db, "raw.products", """product_id = (
        select min(product_id) from staging.stg_shop__order_items where order_id = ? and product_id <> ?)
        order by updated_at desc limit 1""", [untouched, product])[0]
    repriced.update(price=repriced["price"] + 1, updated_at="2099-01-02 00:00:00")
    write_csv(landing / "products" / "2099-01-02" / "products_repriced.csv", "products", [repriced])
    load(data_dir, "orders", "products")
    build_facts(db)
    with duckdb.connect(str(db), read_only=True) as con:
        for table, mark in marks.items():
            kept = {r[0] for r in con.execute(f"select distinct order_id from {table} where {mark}").fetchall()}
            assert kept == {untouched}, table
        kept = con.execute("""select customer_key from intermediate.int_customer_preferences
                              where favourite_channel = 'mark'""").fetchall()
        assert kept == con.execute("select customer_key from marts.fct_orders where order_id = ?", [untouched]).fetchall()


def test_strategy_is_portable():
    """delete+insert on DuckDB, merge on other adapters (Spark needs a Delta/Iceberg/Hudi table)."""
    macro = (PROJECT_ROOT / "dbt_project" / "macros" / "incremental.sql").read_text()
    assert "'delete+insert' if target.type == 'duckdb' else 'merge'" in macro
    for model, folder in ORDER_MODELS.items():
        sql = (PROJECT_ROOT / "dbt_project" / "models" / folder / f"{model}.sql").read_text()
        assert "incremental_strategy=incremental_strategy_for_target()" in sql
        assert "materialized='incremental'" in sql


def test_only_models_ranked_by_load_time_read_just_the_new_rows_of_a_key():
    """newest_load_wins is right only where the de-duplication ranks a key's versions by load time first: a model
    ranking by a business version (updated_at) must read every raw version, or an older delivery's later update
    would lose to a newer load."""
    flagged = set()
    for path in sorted((PROJECT_ROOT / "dbt_project" / "models" / "staging").rglob("*.sql")):
        sql = path.read_text()
        if "raw_versions_of_changed_keys(" not in sql:
            continue
        dedupe = re.search(r"dedupe_latest\((.*?)\) \}\}", sql, re.S)
        assert dedupe, path.name
        ranked_by_version = dedupe.group(1).count("[") > 1  # an order_by list after the key list
        if "newest_load_wins=true" in sql:
            flagged.add(path.stem)
            assert not ranked_by_version, path.name
    assert flagged == {"stg_web__events", "stg_marketing__campaign_events", "stg_shop__order_items"}


CLICKSTREAM = ("staging.stg_web__events", "intermediate.int_web_events_sessionized", "marts.fct_sessions")


def build_clickstream(database: Path, *extra: str) -> None:
    dbt(database, "build", "--select", "+fct_sessions", *extra)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _closest_visits(database: Path, after: datetime) -> tuple[str, datetime, datetime]:
    """Of the cookies first seen after ``after``, the one with two consecutive visits closest apart that are not its
    first: (cookie, end of one, start of the next)."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("""
            select anonymous_id, ended_at, next_started_at from (
                select anonymous_id, ended_at,
                       lead(started_at) over (partition by anonymous_id order by started_at) as next_started_at,
                       lag(started_at) over (partition by anonymous_id order by started_at) as previous_started_at,
                       min(started_at) over (partition by anonymous_id) as first_started_at
                from marts.fct_sessions)
            where next_started_at is not null and previous_started_at is not null and first_started_at > ?
            order by next_started_at - ended_at, anonymous_id limit 1""", [after]).fetchone()


def _visits(database: Path, cookie: str, since: datetime = datetime.min) -> int:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute("select count(*) from marts.fct_sessions where anonymous_id = ? and started_at >= ?",
                           [cookie, since]).fetchone()[0]


def test_clickstream_incremental_equals_full_refresh_after_late_events_and_retention(warehouse_copy, tmp_path):
    data_dir = warehouse_copy
    db = data_dir / "warehouse.duckdb"
    landing = data_dir / "landing"
    # A warehouse built before the sessionised models were incremental has no watermark columns:
    # the first incremental run adds them and re-cuts every cookie.
    with duckdb.connect(str(db)) as con:
        con.execute("alter table intermediate.int_web_events_sessionized drop column _loaded_at")
        con.execute("alter table marts.fct_sessions drop column source_loaded_at")
    build_clickstream(db)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from intermediate.int_web_events_sessionized "
                           "where _loaded_at is null").fetchone()[0] == 0
        assert con.execute("select count(*) from marts.fct_sessions where source_loaded_at is null").fetchone()[0] == 0
    before = digests(db, CLICKSTREAM)
    with duckdb.connect(str(db), read_only=True) as con:
        delivery_dates = sorted(r[0] for r in con.execute(
            "select distinct split_part(_source_file, '/', 2) from raw.web_events").fetchall())
        first_day = con.execute("select min(occurred_at) from raw.web_events").fetchone()[0].date()
        # a cookie seen only in the first days: retention below removes its whole history
        gone_cookie = con.execute(
            "select anonymous_id from staging.stg_web__events group by 1 "
            "having max(occurred_at) < ? order by 1 limit 1", [first_day + timedelta(days=5)]).fetchone()[0]
    retention_cut = datetime.combine(first_day + timedelta(days=5), datetime.min.time())
    cookie, ended_at, next_started_at = _closest_visits(db, retention_cut + timedelta(days=1))
    visits_before = _visits(db, cookie, since=retention_cut)

    # 1. Late events in an old delivery folder fill the gap between two visits of one cookie
    #    (one every 20 minutes), so the two become one and the cookie's later visits renumber.
    steps = int((next_started_at - ended_at) / timedelta(minutes=20))
    assert steps < 500, "the demo data should have two visits of a cookie within a week"
    bridge = [{"event_id": f"ELATE{i:06d}", "anonymous_id": cookie, "customer_id": None,
               "occurred_at": (ended_at + timedelta(minutes=20 * (i + 1))).isoformat(sep=" "),
               "event_type": "page_view", "page_url": "/late", "device": "desktop"} for i in range(steps)]
    write_jsonl(landing / "web_events" / delivery_dates[len(delivery_dates) // 2] / "web_events_late.jsonl", bridge)
    # 2. A new day: a new cookie's visit.
    new_day = "2099-01-01"
    write_jsonl(landing / "web_events" / new_day / "web_events.jsonl", [
        {"event_id": f"ENEW{i:06d}", "anonymous_id": "A-NEW-COOKIE", "customer_id": None,
         "occurred_at": f"2099-01-01 10:0{i}:00", "event_type": "page_view", "page_url": "/", "device": "mobile"}
        for i in range(3)])
    load(data_dir, "web_events")
    # 3. Retention: clickstream before the fifth day goes, including gone_cookie's whole history.
    cutoff_today = first_day + timedelta(days=5 + 730)
    with duckdb.connect(str(db)) as con:
        deleted = apply_retention(con, 730, cutoff_today, "test-retention")
    assert deleted[0].table == "raw.web_events" and deleted[0].rows_deleted > 0

    with duckdb.connect(str(db), read_only=True) as con:
        built_before = con.execute("select max(_built_at) from intermediate.int_web_events_sessionized").fetchone()[0]
    incremental, full = build_incrementally_and_from_scratch(db, tmp_path, build_clickstream, CLICKSTREAM)
    assert incremental == full
    assert incremental != before
    # The bridged cookie was re-cut from the first visit the bridge joins: its earlier visits kept their rows.
    with duckdb.connect(str(db), read_only=True) as con:
        kept_until, recut_from = con.execute(
            "select max(occurred_at) filter (_built_at <= ?), min(occurred_at) filter (_built_at > ?) "
            "from intermediate.int_web_events_sessionized where anonymous_id = ?",
            [built_before, built_before, cookie]).fetchone()
    assert kept_until is not None and kept_until < recut_from <= ended_at

    assert _visits(db, cookie, since=retention_cut) == visits_before - 1
    assert _visits(db, "A-NEW-COOKIE") == 1
    with duckdb.connect(str(db), read_only=True) as con:
        for table in CLICKSTREAM:
            assert con.execute(f"select count(*) from {table} where anonymous_id = ?", [gone_cookie]).fetchone()[0] == 0
        assert con.execute("select min(occurred_at) from intermediate.int_web_events_sessionized").fetchone()[0] \
            >= retention_cut

    # Nothing new, or a partition window re-run: nothing changes.
    build_clickstream(db)
    assert digests(db, CLICKSTREAM) == full
    build_clickstream(db, "--vars", json.dumps({"delivery_date_from": delivery_dates[0], "delivery_date_to": new_day}))
    assert digests(db, CLICKSTREAM) == full


def test_clickstream_models_replace_cookies_rows_only_on_duckdb():
    """Replacing part of a cookie's rows needs delete+insert; other adapters rebuild the sessionised models whole."""
    macro = (PROJECT_ROOT / "dbt_project" / "macros" / "incremental.sql").read_text()
    assert "'incremental' if target.type == 'duckdb' else 'table'" in macro
    for path, key in (("intermediate/int_web_events_sessionized.sql", "event_id"), ("marts/fct_sessions.sql", "anonymous_id")):
        sql = (PROJECT_ROOT / "dbt_project" / "models" / path).read_text()
        assert "materialized=group_replacing_materialization()" in sql and f"unique_key='{key}'" in sql
        assert "incremental_strategy='delete+insert'" in sql


# Campaign touches and tickets: staged incrementally, read by marts rebuilt whole.
EVENT_STAGING = ("staging.stg_marketing__campaign_events", "staging.stg_helpdesk__support_tickets",
                 "marts.experiment_results", "marts.fct_support_tickets")


def build_event_staging(database: Path, *extra: str) -> None:
    dbt(database, "build", "--select", "+experiment_results", "+fct_support_tickets", *extra)


def test_campaign_and_ticket_staging_incremental_equals_full_refresh(warehouse_copy, tmp_path):
    """A ticket re-sent closed and rated in a new folder, a late campaign touch in an old folder and raw
    event retention: the incrementally staged touches and tickets, and the marts on them, equal a full refresh."""
    data_dir = warehouse_copy
    db = data_dir / "warehouse.duckdb"
    landing = data_dir / "landing"
    build_event_staging(db)  # the fixture's warehouse may predate this dbt code
    before = digests(db, EVENT_STAGING)
    with duckdb.connect(str(db), read_only=True) as con:
        watermark = con.execute("select max(_loaded_at) from staging.stg_helpdesk__support_tickets").fetchone()[0]
        touch_days = sorted(r[0] for r in con.execute(
            "select distinct split_part(_source_file, '/', 2) from raw.campaign_events").fetchall())
        first_day = con.execute("select min(occurred_at) from raw.campaign_events").fetchone()[0].date()
    open_ticket = _raw_rows(db, "raw.support_tickets", "closed_at is null order by ticket_id limit 1")[0]
    sent = _raw_rows(db, "raw.campaign_events",
                     f"event_type = 'sent' and occurred_at >= '{first_day + timedelta(days=10)}' "
                     "order by event_id limit 1")[0]

    # 1. The open ticket is re-sent, closed and rated, in a new delivery folder.
    new_day = "2099-01-01"
    closed = {**open_ticket, "closed_at": "2099-01-01 09:00:00", "satisfaction": 1,
              "updated_at": "2099-01-01 09:00:00"}
    write_csv(landing / "support_tickets" / new_day / "support_tickets_updates.csv", "support_tickets", [closed])
    # 2. A late file in the touch's own delivery folder: the recipient converted.
    late_day = touch_days[len(touch_days) // 2]
    converted = {**sent, "event_id": "CLATE000001", "event_type": "convert",
                 "occurred_at": (sent["occurred_at"] + timedelta(hours=2)).isoformat(sep=" ")}
    write_csv(landing / "campaign_events" / late_day / "campaign_events_late.csv", "campaign_events", [converted])
    load(data_dir, "support_tickets", "campaign_events")
    # 3. Retention: campaign touches before the fifth day go.
    retention_cut = datetime.combine(first_day + timedelta(days=5), datetime.min.time())
    with duckdb.connect(str(db)) as con:
        deleted = {r.table: r.rows_deleted for r in apply_retention(con, 730, first_day + timedelta(days=5 + 730),
                                                                    "test-retention")}
    assert deleted["raw.campaign_events"] > 0

    incremental, full = build_incrementally_and_from_scratch(db, tmp_path, build_event_staging, EVENT_STAGING)
    assert incremental == full
    assert incremental != before

    with duckdb.connect(str(db), read_only=True) as con:
        # only the re-sent ticket was re-staged
        assert con.execute("select ticket_id, satisfaction_score, is_closed from staging.stg_helpdesk__support_tickets "
                           "where _loaded_at > ?", [watermark]).fetchall() == [(open_ticket["ticket_id"], 1, True)]
        assert con.execute("select event_type from staging.stg_marketing__campaign_events "
                           "where campaign_event_id = 'CLATE000001'").fetchone()[0] == "convert"
        assert con.execute("select min(occurred_at) from staging.stg_marketing__campaign_events").fetchone()[0] \
            >= retention_cut

    # Nothing new, or a partition window re-run (the late and the new day): nothing changes.
    build_event_staging(db)
    assert digests(db, EVENT_STAGING) == full
    build_event_staging(db, "--vars", json.dumps({"delivery_date_from": late_day, "delivery_date_to": new_day}))
    assert digests(db, EVENT_STAGING) == full

    # Nothing is rebuilt whole: a mark on rows no new raw row touches survives a run that loads a
    # new version of the ticket and of the touch (a rebuilt table would lose every mark).
    redelivered = {"staging.stg_helpdesk__support_tickets": ("ticket_id", open_ticket["ticket_id"]),
                   "staging.stg_marketing__campaign_events": ("campaign_event_id", "CLATE000001")}
    with duckdb.connect(str(db)) as con:
        for table in redelivered:
            con.execute(f"update {table} set _batch_id = 'mark'")
    closed.update(satisfaction=2, updated_at="2099-01-02 09:00:00")
    write_csv(landing / "support_tickets" / "2099-01-02" / "support_tickets_updates.csv", "support_tickets", [closed])
    corrected = {**converted, "occurred_at": (sent["occurred_at"] + timedelta(hours=3)).isoformat(sep=" ")}
    write_csv(landing / "campaign_events" / "2099-01-02" / "campaign_events_corrected.csv", "campaign_events",
              [corrected])
    load(data_dir, "support_tickets", "campaign_events")
    build_event_staging(db)
    with duckdb.connect(str(db), read_only=True) as con:
        for table, (key, value) in redelivered.items():
            unmarked = con.execute(f"select {key} from {table} where _batch_id is distinct from 'mark'").fetchall()
            assert unmarked == [(value,)], table
        assert con.execute("select satisfaction_score from staging.stg_helpdesk__support_tickets where ticket_id = ?",
                           [open_ticket["ticket_id"]]).fetchone()[0] == 2

    # A partition window re-run re-stages what the window delivered though no raw row is new, and from every
    # raw version: the touch delivered late comes back as its correction (loaded later, in another folder).
    with duckdb.connect(str(db)) as con:
        con.execute("update staging.stg_marketing__campaign_events "
                    "set event_type = 'mark', occurred_at = occurred_at - interval 1 day "
                    "where campaign_event_id = 'CLATE000001'")
    build_event_staging(db, "--vars", json.dumps({"delivery_date_from": late_day, "delivery_date_to": late_day}))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select event_type, occurred_at from staging.stg_marketing__campaign_events "
                           "where campaign_event_id = 'CLATE000001'").fetchone() == \
            ("convert", datetime.fromisoformat(corrected["occurred_at"]))


def _test_outcomes(database: Path) -> dict[str, tuple[str, str]]:
    """Each dbt test of the last invocation: its status and the SQL it ran, by test name."""
    target = database.parent / "dbt_work" / "target"
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: (r["status"], r.get("compiled_code") or "")
            for r in results if r["unique_id"].startswith("test.")}


def _facts_with_one_order_updated(data_dir: Path) -> tuple[Path, str, dict, tuple[str, str]]:
    """The facts built, then a status update of one completed order landed and loaded for delivery date
    2099-01-01: (warehouse, another completed order's id, the updated order, dbt's --vars for that window)."""
    db = data_dir / "warehouse.duckdb"
    build_facts(db)
    old_order = _existing_orders(db, "completed", 1)[0]["order_id"]
    updated = _existing_orders(db, "completed", 2)[1]
    updated.update(status="returned", updated_at="2099-01-01 00:00:00")
    write_csv(data_dir / "landing" / "orders" / "2099-01-01" / "orders_status_updates.csv", "orders", [updated])
    load(data_dir, "orders")
    window = ("--vars", json.dumps({"delivery_date_from": "2099-01-01", "delivery_date_to": "2099-01-01"}))
    return db, old_order, updated, window


def test_a_partitioned_run_tests_the_rows_it_wrote_and_every_other_build_all_rows(warehouse_copy):
    """dbt_project/macros/tests_on_changed_rows.sql: a run with a delivery window (the daily run) tests the
    rows its incremental models wrote; uniqueness still against every row; any test that reads a table
    rebuilt whole, and any run without a window, reads every row."""
    db, old_order, updated, window = _facts_with_one_order_updated(warehouse_copy)
    channel_test = "accepted_values_fct_orders_channel__web__app__store"
    unique_test = "unique_fct_orders_order_id"

    # An old row breaks a test; the daily run does not read it and passes, testing what it wrote.
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.fct_orders set channel = 'carrier pigeon' where order_id = ?", [old_order])
    build_facts(db, *window)
    outcomes = _test_outcomes(db)
    assert outcomes[channel_test][0] == "pass" and "_built_at" in outcomes[channel_test][1]
    assert "_built_at" in outcomes[unique_test][1]
    relationships = [name for name in outcomes if name.startswith("relationships_fct_orders_customer_key")]
    assert relationships and "_built_at" not in outcomes[relationships[0]][1]  # dim_customers is rebuilt whole
    with duckdb.connect(str(db), read_only=True) as con:
        newest = con.execute("select order_id from marts.fct_orders "
                             "where _built_at = (select max(_built_at) from marts.fct_orders)").fetchall()
    assert [r[0] for r in newest] == [updated["order_id"]]

    # Without a window (or with test_every_row) every row is read, and the old row fails.
    for extra in ((), ("--vars", json.dumps({"delivery_date_from": "2099-01-01", "test_every_row": True}))):
        dbt(db, "test", "--select", "fct_orders", *extra, check=False)
        assert _test_outcomes(db)[channel_test][0] == "fail"

    # A bad row the run wrote fails the daily run's tests.
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.fct_orders set channel = 'web' where order_id = ?", [old_order])
        con.execute("update marts.fct_orders set channel = 'carrier pigeon' where order_id = ?", [updated["order_id"]])
    dbt(db, "test", "--select", "fct_orders", *window, check=False)
    assert _test_outcomes(db)[channel_test][0] == "fail"

    # A written row whose key an old row already has fails uniqueness, though the old row was not written.
    with duckdb.connect(str(db)) as con:
        con.execute("update marts.fct_orders set channel = 'web' where order_id = ?", [updated["order_id"]])
        con.execute("insert into marts.fct_orders select * replace "
                    "((select max(_built_at) from marts.fct_orders) as _built_at) "
                    "from marts.fct_orders where order_id = ?", [old_order])
    dbt(db, "test", "--select", "fct_orders", *window, check=False)
    outcomes = _test_outcomes(db)
    assert outcomes[unique_test][0] == "fail"
    assert outcomes[channel_test][0] == "pass"


def test_a_partitioned_run_checks_the_totals_of_the_orders_it_rewrote(warehouse_copy):
    """tests/assert_order_items_sum_to_fct_orders.sql: a daily run compares lines and order totals for the
    orders it rewrote; a run without a window compares every order."""
    db, old_order, updated, window = _facts_with_one_order_updated(warehouse_copy)
    totals = "assert_order_items_sum_to_fct_orders"

    def break_totals(order_id: str) -> None:
        with duckdb.connect(str(db)) as con:
            con.execute("update marts.fct_orders set line_count = line_count + 1 where order_id = ?", [order_id])

    break_totals(old_order)  # an order the daily run does not rewrite
    build_facts(db, *window)
    status, sql = _test_outcomes(db)[totals]
    assert status == "pass" and "_built_at" in sql
    dbt(db, "test", "--select", totals, check=False)
    assert _test_outcomes(db)[totals][0] == "fail"

    with duckdb.connect(str(db)) as con:
        con.execute("update marts.fct_orders set line_count = line_count - 1 where order_id = ?", [old_order])
    break_totals(updated["order_id"])  # the order the daily run rewrote
    dbt(db, "test", "--select", totals, *window, check=False)
    assert _test_outcomes(db)[totals][0] == "fail"
