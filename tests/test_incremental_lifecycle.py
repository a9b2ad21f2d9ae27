"""customer_lifecycle_monthly, incremental: equal to a full refresh however the reference date and the customers move.

A daily run recomputes, for every customer, the months from the last one stored to the reference month, and
every month of a customer whose purchases or signup changed; the whole grid when the first month of data moves
or the reference date goes back a month. Each step below pins the reference date (var ``reference_date``),
builds a copy of the demo warehouse incrementally and another from scratch, and compares them row for row.
Changed purchases are covered with the order facts in ``test_incremental.py``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
from test_incremental import _raw_rows, build_incrementally_and_from_scratch, dbt, load, write_csv

MONTHLY = ("marts.customer_lifecycle_monthly",)


def _build_months(reference: date):
    def build(database: Path, *extra: str) -> None:
        dbt(database, "build", "--select", "customer_lifecycle_monthly",
            "--vars", json.dumps({"reference_date": reference.isoformat()}), *extra)
    return build


def _rewritten_months(database: Path) -> set[date]:
    with duckdb.connect(str(database), read_only=True) as con:
        return {r[0] for r in con.execute(
            "select distinct month_start from marts.customer_lifecycle_monthly "
            "where _built_at = (select max(_built_at) from marts.customer_lifecycle_monthly)").fetchall()}


def _customer_signed_up_between(database: Path, first: date, last: date) -> str:
    with duckdb.connect(str(database), read_only=True) as con:
        customer = con.execute("select min(customer_id) from raw.customers where cast(signup_at as date) between ? and ?",
                               [first, last]).fetchone()[0]
    assert customer is not None, f"the demo data has no signup between {first} and {last}"
    return customer


def _moved_signup(database: Path, customer_id: str, days: int) -> dict:
    """The customer's latest CRM record as a newer version with the signup moved by ``days``."""
    row = _raw_rows(database, "raw.customers", "customer_id = ? order by updated_at desc limit 1", [customer_id])[0]
    row.update(signup_at=row["signup_at"] + timedelta(days=days), updated_at="2099-01-01 00:00:00")
    return row


def test_lifecycle_months_incremental_equals_full_refresh_as_the_reference_date_moves(warehouse_copy, tmp_path):
    data_dir = warehouse_copy
    db = data_dir / "warehouse.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        first_order = con.execute("select min(order_date) from intermediate.int_customer_purchases").fetchone()[0]
    start = (first_order.replace(day=28) + timedelta(days=5)).replace(day=10)  # the second month of data
    next_month = (start.replace(day=28) + timedelta(days=5)).replace(day=2)

    def step(reference: date, name: str):
        (tmp_path / name).mkdir()
        incremental, full = build_incrementally_and_from_scratch(db, tmp_path / name, _build_months(reference),
                                                                 MONTHLY)
        assert incremental == full, name
        return incremental

    _build_months(start)(db, "--full-refresh")
    rows_at_start = step(start, "same day")[MONTHLY[0]][0]
    assert rows_at_start > 0

    # A later day of the same month: only that month's rows are written again, for every customer.
    step(start + timedelta(days=5), "same month")
    assert _rewritten_months(db) == {start.replace(day=1)}

    # Into the next month: the month that closed takes its month-end stage, the new month is added.
    grown = step(next_month, "next month")[MONTHLY[0]][0]
    assert _rewritten_months(db) == {start.replace(day=1), next_month.replace(day=1)}
    assert grown > rows_at_start

    # The CRM corrects two signups in the months already stored: one who signed up early in the second month
    # did so 40 days later (loses that month's row), one who signed up in the third month did so 40 days
    # earlier (gains one). The reference date jumps six weeks ahead.
    early = _customer_signed_up_between(db, start.replace(day=1), start)
    late = _customer_signed_up_between(db, next_month.replace(day=1), next_month + timedelta(days=20))
    correction = next_month + timedelta(days=1)
    write_csv(data_dir / "landing" / "customers" / correction.isoformat() / "customers_corrections.csv", "customers",
              [_moved_signup(db, early, 40), _moved_signup(db, late, -40)])
    load(data_dir, "customers")
    dbt(db, "run", "--select", "stg_crm__customers", "dim_customers")
    step(next_month + timedelta(days=42), "signups")

    # The reference date goes back to the first month: every row is recomputed, the later months are gone.
    back = step(start - timedelta(days=20), "back")[MONTHLY[0]][0]
    assert back < rows_at_start
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from marts.customer_lifecycle_monthly "
                           "where _built_at < (select max(_built_at) from marts.customer_lifecycle_monthly)"
                           ).fetchone()[0] == 0
