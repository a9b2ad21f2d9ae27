"""Privacy, end to end on the demo build: erasure everywhere, suppression on reload, access export,
pseudonymous keys, retention, and secrets that never leave the environment.

The demo generator plants data-subject requests (truth.json "privacy_requests": who asked for what);
the session's build applied them, so these tests check the warehouse a privacy officer would audit.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import date

import duckdb
import pytest
from warehouse_build import PROJECT_ROOT, QUIET, TEST_PSEUDONYM_KEY, fixed_pseudonym_key

from landing.contract import SOURCES
from orchestration.defs.ingest.loader import load_source
from orchestration.defs.privacy import access, audit, erasure, retention
from orchestration.defs.privacy.pseudonyms import (
    ID_SOURCES,
    READ_STATE_TABLE,
    PseudonymKeyChangedError,
    customer_key,
    refresh_pseudonyms,
)
from orchestration.defs.privacy.suppression import suppressed_row_filter
from orchestration.defs.quality.runner import run_suite
from orchestration.defs.quality.suites import discover_suites
from orchestration.secret_keys import PseudonymKey, hmac_sql

SUITES = {s.name: s for s in discover_suites()}
ID_SOURCES = [s for s in SOURCES if "customer_id" in SOURCES[s].column_names and s != "privacy_requests"]


def _requests(built_warehouse, kind: str) -> list[dict]:
    truth = json.loads((built_warehouse.truth_dir / "truth.json").read_text())
    found = [r for r in truth["privacy_requests"] if r["request_type"] == kind]
    assert found, f"the demo plants {kind} requests"
    return found


def _keyed_tables(con) -> list[str]:
    return [r[0] for r in con.execute(
        "select distinct table_schema || '.' || table_name from information_schema.columns "
        "where column_name = 'customer_key' and table_schema in ('marts', 'ml', 'intermediate')").fetchall()]


def _copy(built_warehouse, tmp_path):
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.database, database)
    return database


def test_hmac_in_sql_equals_python_hmac():
    key = PseudonymKey(b"a-long-enough-key-for-the-warehouse-0001")
    with duckdb.connect() as con:
        got = con.execute(f"select {hmac_sql('$message')}", {**key.sql_params(), "message": "C00000042"}).fetchone()[0]
    assert got == key.hex("C00000042")
    assert repr(key).find("a-long-enough") == -1, "the key must not show in reprs (logs, tracebacks)"


def test_erased_customers_are_gone_from_every_table_and_published_file(built_warehouse):
    key = fixed_pseudonym_key()
    serving = duckdb.connect(str(built_warehouse.data_dir / "serving" / "warehouse.duckdb"), read_only=True)
    exports = "\n".join(p.read_text(encoding="utf-8") for p in (built_warehouse.data_dir / "exports").glob("*.csv"))
    with built_warehouse.connect() as con, serving:
        keyed = _keyed_tables(con)
        served = [r[0] for r in serving.execute(
            "select distinct table_schema || '.' || table_name from information_schema.columns "
            "where column_name = 'customer_key'").fetchall()]
        assert "marts.dim_customers" in keyed and "marts.dim_customers" in served
        for request in _requests(built_warehouse, "erasure"):
            cid = request["customer_id"]
            ckey = customer_key(key, cid)
            for source in ID_SOURCES:
                for table in (f"raw.{source}", f"quality.quarantine_{source}"):
                    n = con.execute(f"select count(*) from {table} where trim(customer_id) = ?", [cid]).fetchone()[0]
                    assert n == 0, f"{cid} still in {table}"
            assert con.execute("select count(*) from staging.customer_pseudonyms where customer_id = ?",
                               [cid]).fetchone()[0] == 0
            for table in keyed:
                assert con.execute(f"select count(*) from {table} where customer_key = ?", [ckey]).fetchone()[0] == 0, table
            for table in served:
                assert serving.execute(f"select count(*) from {table} where customer_key = ?", [ckey]).fetchone()[0] == 0
            assert ckey not in exports
            done = con.execute(f"select count(*) from {audit.TABLE} where request_id = ? and action = 'completed'",
                               [request["request_id"]]).fetchone()[0]
            assert done == 1, request
        suppressed = con.execute("select count(*) from quality.privacy_suppression where subject_type = 'customer_id'"
                                 ).fetchone()[0]
        assert suppressed == len(_requests(built_warehouse, "erasure"))
        # the suppression list and the audit log hold keyed hashes, never the id
        for request in _requests(built_warehouse, "erasure"):
            for table in ("quality.privacy_suppression", audit.TABLE):
                rows = con.execute(f"select * from {table}").fetchall()
                assert request["customer_id"] not in repr(rows), table


def test_reloading_old_files_and_new_deliveries_do_not_bring_erased_people_back(built_warehouse, tmp_path):
    database = _copy(built_warehouse, tmp_path)
    key = fixed_pseudonym_key()
    erased = [r["customer_id"] for r in _requests(built_warehouse, "erasure")]
    landing = tmp_path / "landing"
    shutil.copytree(built_warehouse.landing_dir / "orders", landing / "orders")
    shutil.copytree(built_warehouse.landing_dir / "customers", landing / "customers")
    # A new delivery for an erased customer, as a CRM that was not told would send it.
    late = landing / "customers" / "2099-01-01" / "crm_resend.csv"
    late.parent.mkdir(parents=True)
    late.write_text("customer_id,email,phone,first_name,last_name,gender,birth_date,city,region,country,signup_at,"
                    f"acquisition_channel,marketing_consent,updated_at\n{erased[0]},back@example.com,,X,Y,,,,,CN,"
                    "2026-01-01T00:00:00Z,email,true,2099-01-01T00:00:00Z\n", encoding="utf-8")

    def suppress(con, source, relation):
        return suppressed_row_filter(con, key, source, relation)

    with duckdb.connect(str(database)) as con:
        # Forget that the files were ever loaded: everything is read again, as after a restore.
        for source in ("orders", "customers"):
            con.execute("delete from quality.ingest_files where source = ?", [source])
            con.execute(f"delete from raw.{source}")
            con.execute(f"delete from quality.quarantine_{source}")
        results = {s: load_source(con, s, landing, batch_id=f"reload-{s}", rejected_dir=tmp_path / "rejected",
                                  suppress=suppress) for s in ("orders", "customers")}
        for source in ("orders", "customers"):
            n = con.execute(f"select count(*) from raw.{source} where trim(customer_id) in "
                            f"({', '.join('?' for _ in erased)})", erased).fetchone()[0]
            assert n == 0, f"an erased customer came back into raw.{source}"
            ledger = con.execute("select sum(rows_landed), sum(rows_loaded) + sum(rows_quarantined) + sum(rows_suppressed), "
                                 "sum(rows_suppressed) from quality.ingest_files where source = ?", [source]).fetchone()
            assert ledger[0] == ledger[1], f"{source}: landed != loaded + quarantined + suppressed"
            assert ledger[2] == results[source].rows_suppressed > 0
    # the erased customer with orders had some, and the re-sent CRM record was suppressed as well
    assert results["customers"].rows_suppressed >= 2


def test_a_later_order_of_an_erased_customer_is_dropped_with_its_lines(built_warehouse, tmp_path):
    """The order is suppressed by customer id; its lines, which carry only the order id, must go with it
    (not load as lines of an order that does not exist and block every later build at raw.order_items' suite)."""
    database = _copy(built_warehouse, tmp_path)
    key = fixed_pseudonym_key()
    request = _requests(built_warehouse, "erasure")[0]
    landing = tmp_path / "landing"
    with duckdb.connect(str(database)) as con:
        other, product = con.execute("select (select min(trim(customer_id)) from raw.customers where trim(customer_id) "
                                     "<> ?), (select min(product_id) from raw.products)",
                                     [request["customer_id"]]).fetchone()
    orders = landing / "orders" / "2026-11-01" / "late_after_erasure.csv"
    orders.parent.mkdir(parents=True)
    orders.write_text("order_id,customer_id,ordered_at,channel,status,subtotal_amount,discount_amount,"
                      "shipping_amount,total_amount,updated_at\n"
                      f"OAFTER1,{request['customer_id']},2026-10-31T10:00:00Z,web,completed,10.00,0.00,0.00,10.00,"
                      "2026-10-31T10:00:00Z\n"
                      f"OAFTER2,{other},2026-10-31T11:00:00Z,web,completed,10.00,0.00,0.00,10.00,2026-10-31T11:00:00Z\n",
                      encoding="utf-8")
    items = landing / "order_items" / "2026-11-01" / "late_after_erasure.csv"
    items.parent.mkdir(parents=True)
    items.write_text("order_id,line_number,product_id,quantity,unit_price,ordered_at\n"
                     f"OAFTER1,1,{product},1,5.00,2026-10-31T10:00:00Z\nOAFTER1,2,{product},1,5.00,2026-10-31T10:00:00Z\n"
                     f"OAFTER2,1,{product},2,5.00,2026-10-31T11:00:00Z\n", encoding="utf-8")

    def suppress(con, source, relation):
        return suppressed_row_filter(con, key, source, relation)

    with duckdb.connect(str(database)) as con:
        loaded = {s: load_source(con, s, landing, batch_id=f"after-{s}", rejected_dir=tmp_path / "rejected",
                                 suppress=suppress) for s in ("orders", "order_items")}
        assert (loaded["orders"].rows_loaded, loaded["orders"].rows_suppressed) == (1, 1)
        assert (loaded["order_items"].rows_loaded, loaded["order_items"].rows_suppressed) == (1, 2)
        assert con.execute("select list(order_id order by line_number) from raw.order_items where order_id like "
                           "'OAFTER%'").fetchone()[0] == ["OAFTER2"]
        # the order id is on the list under the customer's own request, as a keyed hash
        listed = con.execute("select request_id, subject_hash from quality.privacy_suppression "
                             "where subject_type = 'order_id' and subject_hash = ?",
                             [key.hex("suppress:order_id:OAFTER1")]).fetchall()
        assert [r[0] for r in listed] == [request["request_id"]]
        for source in ("orders", "order_items"):
            result = run_suite(con, SUITES[f"raw.{source}"])
            assert result.success, (source, [(r.description, r.observed_value) for r in result.failed])


def test_erasure_by_email_only_finds_every_version_of_the_customer(built_warehouse, tmp_path):
    database = _copy(built_warehouse, tmp_path)
    key = fixed_pseudonym_key()
    with duckdb.connect(str(database)) as con:
        cid, email = con.execute("select customer_id, email from staging.stg_crm__customers c where email is not null "
                                 "and exists (select 1 from marts.fct_orders o where o.customer_key = c.customer_key) "
                                 "order by customer_id limit 1").fetchone()
        con.execute("insert into raw.privacy_requests values ('PRTEST1', null, ?, 'erasure', '2026-11-01', "
                    "'test', 'privacy_requests/2026-11-01/t.csv', 2, now())", [email.upper()])
        orders = [r[0] for r in con.execute("select distinct trim(order_id) from raw.orders where trim(customer_id) = ?",
                                            [cid]).fetchall()]
        results = erasure.apply_erasures(con, key, "test-run", tmp_path / "models", tmp_path / "access")
        assert [r.request_id for r in results] == ["PRTEST1"] and results[0].found
        # built tables keyed by order (staged order lines) lose the person's orders before any rebuild
        with_orders = [r[0] for r in con.execute(
            "select distinct c.schema_name || '.' || c.table_name from duckdb_columns() c join duckdb_tables() t "
            "using (database_name, schema_name, table_name) where c.column_name = 'order_id' "
            "and c.schema_name in ('staging', 'intermediate', 'marts', 'ml')").fetchall()]
        assert "staging.stg_shop__order_items" in with_orders
        for table in with_orders:
            n = con.execute(f"select count(*) from {table} where order_id in (select unnest(?))", [orders]).fetchone()[0]
            assert n == 0, f"{cid}'s orders still in {table}"
        assert con.execute("select count(*) from raw.customers where trim(customer_id) = ?", [cid]).fetchone()[0] == 0
        assert con.execute("select count(*) from raw.orders where trim(customer_id) = ?", [cid]).fetchone()[0] == 0
        ckey = customer_key(key, cid)
        for table in _keyed_tables(con):
            assert con.execute(f"select count(*) from {table} where customer_key = ?", [ckey]).fetchone()[0] == 0
        # the request no longer holds the e-mail it was made with; the audit log says what was done
        assert con.execute("select email from raw.privacy_requests where request_id = 'PRTEST1'").fetchone()[0] is None
        actions = {r[0] for r in con.execute(f"select action from {audit.TABLE} where request_id = 'PRTEST1'").fetchall()}
        assert {"deleted", "suppressed", "anonymised", "completed"} <= actions
        # applying requests again does nothing more
        assert erasure.apply_erasures(con, key, "test-run-2", tmp_path / "models", tmp_path / "access") == []
        # and the request, which now names no one, still passes its suite: the audit says why
        result = run_suite(con, SUITES["raw.privacy_requests"])
        assert result.success, [(r.description, r.observed_value) for r in result.failed]


def _table_counts(con) -> dict[str, int]:
    tables = [r[0] for r in con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database() "
        "order by 1").fetchall()]
    return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def _add_request(con, request_type: str, day: int, request_id: str, customer_id: str | None,
                 email: str | None) -> None:
    """A data-subject request as ingest would load it, received on 2026-11-0<day>."""
    con.execute("insert into raw.privacy_requests values (?, ?, ?, ?, ?, 'test', "
                "'privacy_requests/2026-11-01/t.csv', ?, now())",
                [request_id, customer_id, email, request_type, f"2026-11-0{day}", day])


def test_erasures_applied_together_delete_and_audit_what_one_at_a_time_would(built_warehouse, tmp_path):
    """All pending requests go in one pass over each table; the result and each request's audit
    trail must be the same as applying them one by one."""
    key = fixed_pseudonym_key()
    with built_warehouse.connect() as con:
        people = con.execute("select customer_id, email from staging.stg_crm__customers c where email is not null "
                             "and exists (select 1 from marts.fct_orders o where o.customer_key = c.customer_key) "
                             "order by customer_id limit 3").fetchall()
    (a, _), (b, b_email), (c, _) = people
    requests = [("PRB1", a, None), ("PRB2", None, b_email.upper()), ("PRB3", c, None),
                ("PRB4", a, None)]  # the same person asking twice

    def audit_trail(con) -> list[tuple]:
        return con.execute(f"select request_id, action, target, rows_affected from {audit.TABLE} "
                           "where request_id like 'PRB%' and action <> 'file_removed' order by all").fetchall()

    together, one_by_one = tmp_path / "together.duckdb", tmp_path / "one_by_one.duckdb"
    for database in (together, one_by_one):
        shutil.copy(built_warehouse.database, database)
    with duckdb.connect(str(together)) as con:
        for day, request in enumerate(requests, start=1):
            _add_request(con, "erasure", day, *request)
        applied = erasure.apply_erasures(con, key, "together", tmp_path / "models", tmp_path / "access")
        assert [r.request_id for r in applied] == ["PRB1", "PRB2", "PRB3", "PRB4"]
        together_counts, together_audit = _table_counts(con), audit_trail(con)
    with duckdb.connect(str(one_by_one)) as con:
        for day, request in enumerate(requests, start=1):
            _add_request(con, "erasure", day, *request)
            assert len(erasure.apply_erasures(con, key, f"run-{day}", tmp_path / "models", tmp_path / "access")) == 1
        one_by_one_counts, one_by_one_audit = _table_counts(con), audit_trail(con)

    assert together_counts == one_by_one_counts
    assert together_audit == one_by_one_audit
    deleted = [(rid, target, n) for rid, action, target, n in together_audit if action == "deleted"]
    assert {rid for rid, target, _ in deleted if target == "raw.orders"} == {"PRB1", "PRB2", "PRB3"}
    assert not [d for d in deleted if d[0] == "PRB4"], "the second request finds nothing left to delete"
    completed = {r[0]: r[3] for r in together_audit if r[1] == "completed"}
    assert completed == {rid: sum(n for r, _, n in deleted if r == rid) for rid in ("PRB1", "PRB2", "PRB3", "PRB4")}


def test_access_request_exports_everything_held_about_the_person(built_warehouse):
    key = fixed_pseudonym_key()
    folder = built_warehouse.data_dir / "privacy" / "access"
    for request in _requests(built_warehouse, "access"):
        path = folder / f"{request['request_id']}.json"
        assert path.exists(), request
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["subject"]["customer_ids"] == [request["customer_id"]]
        tables = document["tables"]
        assert {r["customer_id"].strip() for r in tables["raw.customers"]} == {request["customer_id"]}
        assert tables["marts.dim_customers"][0]["customer_key"] == customer_key(key, request["customer_id"])
        assert "marts.customer_consent_history" in tables and "staging.stg_crm__customers" in tables
        with built_warehouse.connect() as con:
            orders = con.execute("select count(*) from raw.orders where trim(customer_id) = ?",
                                 [request["customer_id"]]).fetchone()[0]
            assert len(tables.get("raw.orders", [])) == orders
            rows = con.execute(f"select sum(rows_affected) from {audit.TABLE} where request_id = ? "
                               "and action = 'completed'", [request["request_id"]]).fetchone()[0]
        assert rows == sum(len(v) for v in tables.values())


def test_access_requests_answered_together_export_what_one_at_a_time_would(built_warehouse, tmp_path):
    """All pending access requests share one pass over each table; each file must hold exactly what
    answering that request alone writes, and a person asking twice gets their rows both times."""
    key = fixed_pseudonym_key()
    with built_warehouse.connect() as con:
        people = con.execute("select customer_id, email from staging.stg_crm__customers c where email is not null "
                             "and exists (select 1 from marts.fct_orders o where o.customer_key = c.customer_key) "
                             "order by customer_id limit 2").fetchall()
    (a, _), (b, b_email) = people
    requests = [("PRA1", a, None), ("PRA2", None, b_email.upper()), ("PRA3", a, None), ("PRA4", "C-NOBODY", None)]

    def exported(folder) -> dict[str, dict]:
        return {rid: {k: v for k, v in json.loads((folder / f"{rid}.json").read_text(encoding="utf-8")).items()
                      if k in ("subject", "tables")} for rid, *_ in requests}

    answered = {}
    for mode in ("together", "one_by_one"):
        database, folder = tmp_path / f"{mode}.duckdb", tmp_path / mode
        shutil.copy(built_warehouse.database, database)
        with duckdb.connect(str(database)) as con:
            if mode == "together":
                for day, request in enumerate(requests, start=1):
                    _add_request(con, "access", day, *request)
                results = access.answer_access_requests(con, key, folder, "together")
                assert [r.request_id for r in results] == ["PRA1", "PRA2", "PRA3", "PRA4"]
                assert [r.found for r in results] == [True, True, True, False]
                assert con.execute(f"select action from {audit.TABLE} where request_id = 'PRA4' "
                                   "order by all").fetchall() == [("completed",), ("file_written",), ("no_data_found",)]
            else:
                for day, request in enumerate(requests, start=1):
                    _add_request(con, "access", day, *request)
                    assert len(access.answer_access_requests(con, key, folder, f"run-{day}")) == 1
        answered[mode] = exported(folder)

    assert answered["together"] == answered["one_by_one"]
    first, again = answered["together"]["PRA1"]["tables"], answered["together"]["PRA3"]["tables"]
    assert first == again and len(first["raw.orders"]) > 0, "a person asking twice gets their rows both times"
    assert {r["customer_id"].strip() for r in answered["together"]["PRA2"]["tables"]["raw.customers"]} == {b}
    assert answered["together"]["PRA4"]["tables"] == {}


def test_changed_pseudonym_key_is_refused_unless_rotating(built_warehouse, tmp_path):
    database = _copy(built_warehouse, tmp_path)
    other = PseudonymKey(b"another-key-that-is-long-enough-000000000")
    with duckdb.connect(str(database)) as con:
        before = dict(con.execute("select customer_id, customer_key from staging.customer_pseudonyms").fetchall())
        with pytest.raises(PseudonymKeyChangedError, match="rotate"):
            refresh_pseudonyms(con, other)
        assert dict(con.execute("select customer_id, customer_key from staging.customer_pseudonyms").fetchall()) == before
        refresh_pseudonyms(con, other, rotate=True)
        after = dict(con.execute("select customer_id, customer_key from staging.customer_pseudonyms").fetchall())
    assert set(after) == set(before) and not set(after.values()) & set(before.values())
    assert all(after[c] == customer_key(other, c) for c in list(after)[:20])


def test_a_key_refresh_reads_the_rows_loaded_since_the_last_one(built_warehouse, tmp_path):
    """Ids only arrive with new loads, so a refresh reads each raw table from the newest load it saw (less a day
    of slack); a table it has no record of, or a rotation, is read whole."""
    database = _copy(built_warehouse, tmp_path)
    key = fixed_pseudonym_key()

    def keyed(con, customer_id):
        return con.execute("select customer_key from staging.customer_pseudonyms where customer_id = ?",
                           [customer_id]).fetchall()

    def land_order(con, customer_id, loaded_at_sql):
        con.execute(f"insert into raw.orders by name select 'O-{customer_id}' as order_id, "
                    f"'{customer_id}' as customer_id, {loaded_at_sql} as _loaded_at")

    with duckdb.connect(str(database)) as con:
        reads = dict(con.execute(f"select source, loaded_through from {READ_STATE_TABLE}").fetchall())
        newest = con.execute("select max(_loaded_at) from raw.orders").fetchone()[0]
        assert set(reads) == set(ID_SOURCES) and reads["orders"] == newest

        land_order(con, "C-NEW-LOAD", "now()")
        land_order(con, "C-OLD-STAMP", "timestamp '2001-01-01'")  # stamped before anything the refresh saw
        refreshed = refresh_pseudonyms(con, key)
        assert refreshed.new_keys == 1 and keyed(con, "C-NEW-LOAD") == [(customer_key(key, "C-NEW-LOAD"),)]
        assert keyed(con, "C-OLD-STAMP") == [], "rows loaded before the last refresh are not read again"

        con.execute(f"delete from {READ_STATE_TABLE} where source = 'orders'")
        assert refresh_pseudonyms(con, key).new_keys == 1, "with no record of a table, it is read whole"
        assert keyed(con, "C-OLD-STAMP") == [(customer_key(key, "C-OLD-STAMP"),)]


def test_retention_deletes_old_raw_events_and_records_the_counts(built_warehouse, tmp_path):
    database = _copy(built_warehouse, tmp_path)
    today = date(2026, 11, 29)
    with duckdb.connect(str(database)) as con:
        cutoff = con.execute("select min(occurred_at)::date + 30 from raw.web_events").fetchone()[0]
        days = (today - cutoff).days
        before = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in retention.RETAINED_EVENT_SOURCES}
        old = {t: con.execute(f"select count(*) from raw.{t} where {c} < ?", [cutoff]).fetchone()[0]
               for t, c in retention.RETAINED_EVENT_SOURCES.items()}
        results = retention.apply_retention(con, days, today, "test-run")
        deleted = {r.table: r.rows_deleted for r in results}
        for table, column in retention.RETAINED_EVENT_SOURCES.items():
            assert deleted[f"raw.{table}"] == old[table] > 0
            assert con.execute(f"select count(*) from raw.{table}").fetchone()[0] == before[table] - old[table]
            assert con.execute(f"select count(*) from raw.{table} where {column} < ?", [cutoff]).fetchone()[0] == 0
        logged = dict(con.execute("select table_name, rows_deleted from quality.retention_log where run_id = 'test-run'"
                                  ).fetchall())
        assert logged == deleted
        # orders are business records: untouched
        assert con.execute("select count(*) from raw.orders").fetchone()[0] == \
            built_warehouse.query("select count(*) from raw.orders")[0][0]


def test_the_pseudonym_key_never_reaches_a_file_a_log_or_run_metadata(built_warehouse):
    needle = TEST_PSEUDONYM_KEY.encode()
    roots = [built_warehouse.data_dir, PROJECT_ROOT / "dbt_project" / "target", PROJECT_ROOT / "dbt_project" / "logs"]
    checked = 0
    for root in roots:
        for path in (p for p in root.rglob("*") if p.is_file()):
            if path.is_relative_to(built_warehouse.landing_dir):
                continue
            checked += 1
            with path.open("rb") as fh:
                assert needle not in fh.read(), f"the pseudonym key was written to {path}"
    assert checked > 50
    assert needle.decode() not in built_warehouse.build_output


def test_production_refuses_to_start_without_the_pseudonym_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WAREHOUSE_PSEUDONYM_KEY"}
    env.update(QUIET, WAREHOUSE_ENV="production", DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.run([sys.executable, "-c", "import orchestration.definitions"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "WAREHOUSE_PSEUDONYM_KEY is not set" in proc.stderr and "secrets.token_hex" in proc.stderr
    assert not (tmp_path / "data" / "secrets").exists(), "production must never fall back to a generated key"


def test_encrypted_serving_file_needs_the_key_or_says_how_to_get_secure_crypto(built_warehouse, tmp_path):
    from orchestration.defs.serving.publish import PublishError, open_serving_file, publish

    database = _copy(built_warehouse, tmp_path)
    secret = "an-encryption-key-for-the-serving-file-01"
    serving = tmp_path / "serving"
    with duckdb.connect(str(database)) as con:
        try:
            con.execute("load httpfs")
        except duckdb.Error:
            # DuckDB writes encrypted files only with OpenSSL (httpfs), which this machine cannot download
            with pytest.raises(PublishError, match="httpfs"):
                publish(con, serving, "enc-run", encryption_key=secret)
            assert not (serving / "warehouse.duckdb").exists(), "nothing half-encrypted is published"
            return
        publication = publish(con, serving, "enc-run", encryption_key=secret)
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(publication.database), read_only=True).execute("select 1")
    with open_serving_file(publication.database, secret) as reader:
        assert reader.execute("select count(*) from marts.dim_customers").fetchone()[0] > 0
    assert not (serving / "parquet").exists(), "no clear-text Parquet beside an encrypted file"
