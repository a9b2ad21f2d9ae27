"""The dbt project, run for real on a tiny hand-written raw layer.

One ``dbt build`` (seeds, models, data tests, unit tests) runs against a temp
DuckDB file whose ``raw`` tables are created from ``landing.contract``; the
tests then read the marts back and check the cleaning, deduplication and RFM
logic against values worked out by hand and recomputed in pandas.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from landing.contract import LOAD_COLUMNS, SOURCES
from warehouse_build import add_pseudonym_map, with_customer_id

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
AS_OF_DATE = "2024-07-01"

# Source tables per dbt source (system); the contract names the tables, dbt groups them.
SYSTEM_OF = {
    "customers": "crm",
    "products": "catalog",
    "orders": "shop",
    "order_items": "shop",
    "web_events": "web",
    "support_tickets": "helpdesk",
    "survey_responses": "survey",
    "social_mentions": "social",
    "campaign_events": "marketing",
    "privacy_requests": "privacy",
}


# --- the tiny raw layer ------------------------------------------------------
# Rows are (contract columns in contract order..., batch, file, row, loaded_at).

def _load(batch: str, file: str, row: int, loaded_at: str) -> tuple:
    return (batch, file, row, loaded_at)


_C1_V2 = ("C001", " ALICE.NEW@Example.com", "+86-138-0013-8000", "Alice", "Wang", "female", "1990-05-20",
          "Shanghai", "Shanghai", "China", "2023-01-05 10:00:00", "organic_search", False, "2024-03-01 09:00:00")

RAW_ROWS: dict[str, list[tuple]] = {
    "customers": [
        ("C001", " Alice@Example.COM ", "138 0013 8000", "Alice", "Wang", "female", "1990-05-20",
         "Shanghai", "Shanghai", "cn", "2023-01-05 10:00:00", "organic_search", True, "2023-01-05 10:00:00")
        + _load("b1", "customers/2024-01-01/a.csv", 1, "2024-01-01 01:00:00"),
        # newer version, then the same version delivered again
        _C1_V2 + _load("b2", "customers/2024-03-02/a.csv", 1, "2024-03-02 01:00:00"),
        _C1_V2 + _load("b3", "customers/2024-03-03/a.csv", 4, "2024-03-03 01:00:00"),
        ("C002", "bob@example.com", "(415) 555-0100", "Bob", "Smith", "male", "1985-11-02",
         "San Francisco", "CA", "United States", "2023-02-01 12:00:00", "paid_search", True, "2023-02-01 12:00:00")
        + _load("b1", "customers/2024-01-01/a.csv", 2, "2024-01-01 01:00:00"),
        ("C003", "Carol@Example.co.uk ", "+44 20 7946 0958", "Carol", "Jones", "female", "2001-08-15",
         "London", None, "gb", "2023-03-01 08:00:00", "social", True, "2023-03-01 08:00:00")
        + _load("b1", "customers/2024-01-01/a.csv", 3, "2024-01-01 01:00:00"),
        ("C004", "dieter@example.de", "030 1234567", "Dieter", "Müller", "male", "1958-07-02",
         "Berlin", "Berlin", "GERMANY", "2023-04-01 08:00:00", "email", False, "2023-04-01 08:00:00")
        + _load("b1", "customers/2024-01-01/a.csv", 4, "2024-01-01 01:00:00"),
        ("C005", "   ", "6123 4567", "美玲", "陈", "other", None,
         "Singapore", None, "SG", "2023-05-01 08:00:00", "referral", True, "2023-05-01 08:00:00")
        + _load("b1", "customers/2024-01-01/a.csv", 5, "2024-01-01 01:00:00"),
        ("C006", "no.orders@example.com", None, None, None, None, None,
         None, None, None, "2024-06-01 08:00:00", None, False, "2024-06-01 08:00:00")
        + _load("b1", "customers/2024-01-01/a.csv", 6, "2024-01-01 01:00:00"),
    ],
    "products": [
        ("P1", "Green tea 绿茶", "grocery", "Leaf", "10.00", "2023-01-01 00:00:00")
        + _load("b1", "products/2024-01-01/p.jsonl", 1, "2024-01-01 01:00:00"),
        ("P1", "Green tea 绿茶", "grocery", "Leaf", "12.00", "2024-05-01 00:00:00")
        + _load("b4", "products/2024-05-02/p.jsonl", 1, "2024-05-02 01:00:00"),
        ("P2", "Kettle", "home", "Boil", "100.00", "2023-01-01 00:00:00")
        + _load("b1", "products/2024-01-01/p.jsonl", 2, "2024-01-01 01:00:00"),
        ("P3", "Mug", "home", "Boil", "25.00", "2023-01-01 00:00:00")
        + _load("b1", "products/2024-01-01/p.jsonl", 3, "2024-01-01 01:00:00"),
        ("P4", "Biscuits", "grocery", "Crunch", "20.00", "2023-01-01 00:00:00")
        + _load("b1", "products/2024-01-01/p.jsonl", 4, "2024-01-01 01:00:00"),
    ],
    "orders": [],  # filled below
    "order_items": [],  # filled below
    "web_events": [
        ("E1", "anon-1", None, "2024-06-01 10:00:00", "page_view", None, "/", None, "mobile", "weibo", "social", "summer")
        + _load("b5", "web_events/2024-06-02/e.jsonl", 1, "2024-06-02 01:00:00"),
        ("E1", "anon-1", None, "2024-06-01 10:00:00", "page_view", None, "/", None, "mobile", "weibo", "social", "summer")
        + _load("b6", "web_events/2024-06-03/e.jsonl", 1, "2024-06-03 01:00:00"),
        ("E2", "anon-1", "C001", "2024-06-01 10:05:00", "search", None, "/search", "绿茶", "mobile", None, None, None)
        + _load("b5", "web_events/2024-06-02/e.jsonl", 2, "2024-06-02 01:00:00"),
    ],
    "support_tickets": [
        ("T1", "C001", "2024-06-11 09:00:00", None, "chat", "delivery", None, "包裹还没到", "2024-06-11 09:00:00")
        + _load("b5", "support_tickets/2024-06-12/t.csv", 1, "2024-06-12 01:00:00"),
        ("T1", "C001", "2024-06-11 09:00:00", "2024-06-12 10:00:00", "chat", "delivery", 4, "包裹还没到",
         "2024-06-12 10:00:00") + _load("b6", "support_tickets/2024-06-13/t.csv", 1, "2024-06-13 01:00:00"),
    ],
    "survey_responses": [
        ("R1", "C002", "2024-06-15 12:00:00", 9, "Great kettle")
        + _load("b5", "survey_responses/2024-06-16/s.jsonl", 1, "2024-06-16 01:00:00"),
    ],
    "social_mentions": [
        ("S1", "weibo", "@alice", "2024-06-15 12:00:00", "喜欢这个茶", "ABCDEF0123")
        + _load("b5", "social_mentions/2024-06-16/m.jsonl", 1, "2024-06-16 01:00:00"),
    ],
    "campaign_events": [
        ("CE1", "CMP1", "treatment", "C001", "sent", "2024-06-01 08:00:00")
        + _load("b5", "campaign_events/2024-06-02/c.csv", 1, "2024-06-02 01:00:00"),
        ("CE2", "CMP1", "control", "C002", "open", "2024-06-01 09:00:00")
        + _load("b5", "campaign_events/2024-06-02/c.csv", 2, "2024-06-02 01:00:00"),
    ],
    "privacy_requests": [
        ("PR1", None, " Someone@Example.com ", "access", "2024-06-20 10:00:00")
        + _load("b5", "privacy_requests/2024-06-21/p.csv", 1, "2024-06-21 01:00:00"),
    ],
}

# order_id, customer, ordered_at, channel, status, discount, shipping, lines [(product, qty, price)]
ORDERS = [
    ("O1", "C001", "2024-05-01 10:00:00", "web", "completed", "20.00", "10.00", [("P1", 2, "50.00"), ("P2", 1, "100.00")]),
    ("O2", "C001", "2024-06-10 11:00:00", "app", "completed", "0.00", "5.00", [("P3", 1, "50.00")]),
    ("O3", "C001", "2024-06-20 12:00:00", "web", "cancelled", "0.00", "0.00", [("P4", 4, "20.00")]),
    ("O4", "C002", "2024-04-01 09:00:00", "store", "completed", "10.00", "0.00", [("P2", 1, "100.00")]),
    ("O5", "C002", "2024-06-01 09:00:00", "web", "completed", "0.00", "0.00", [("P1", 5, "12.00")]),
    ("O6", "C003", "2024-06-28 15:00:00", "app", "completed", "0.00", "0.00", [("P2", 3, "100.00")]),
    ("O7", "C003", "2024-06-30 09:00:00", "web", "returned", "0.00", "0.00", [("P3", 2, "20.00")]),
    ("O8", "C004", "2024-01-15 09:00:00", "store", "completed", "0.00", "0.00", [("P4", 1, "30.00")]),
    ("O9", "C004", "2024-02-15 09:00:00", "store", "completed", "0.00", "0.00", [("P4", 2, "20.00")]),
    ("O10", "C004", "2024-03-15 09:00:00", "store", "completed", "0.00", "0.00", [("P1", 5, "10.00")]),
    ("O11", "C005", "2024-06-05 09:00:00", "web", "cancelled", "0.00", "0.00", [("P3", 1, "25.00")]),
]


def _order_rows(order, status, updated_at, load):
    order_id, customer, ordered_at, channel, _, discount, shipping, lines = order
    subtotal = sum(Decimal(price) * qty for _, qty, price in lines)
    total = subtotal - Decimal(discount) + Decimal(shipping)
    header = (order_id, customer, ordered_at, channel, status, str(subtotal), discount, shipping, str(total),
              updated_at) + load
    items = [
        (order_id, n, product, qty, price, ordered_at) + load[:2] + (load[2] + n, load[3])
        for n, (product, qty, price) in enumerate(lines, start=1)
    ]
    return header, items


for i, order in enumerate(ORDERS, start=1):
    header, items = _order_rows(order, order[4], order[2], _load("b7", "orders/2024-07-01/o.parquet", i * 10, "2024-07-01 01:00:00"))
    RAW_ROWS["orders"].append(header)
    RAW_ROWS["order_items"].extend(items)

# O5 comes back returned (with its lines) in a later delivery.
_header, _items = _order_rows(ORDERS[4], "returned", "2024-06-25 10:00:00",
                              _load("b8", "orders/2024-07-02/o.parquet", 1, "2024-07-02 01:00:00"))
RAW_ROWS["orders"].append(_header)
RAW_ROWS["order_items"].extend(_items)
# O6 delivered twice, identical content.
_header, _items = _order_rows(ORDERS[5], "completed", ORDERS[5][2],
                              _load("b8", "orders/2024-07-02/o.parquet", 2, "2024-07-02 01:00:00"))
RAW_ROWS["orders"].append(_header)
RAW_ROWS["order_items"].extend(_items)


def _create_raw_layer(database: Path) -> None:
    con = duckdb.connect(str(database))
    try:
        con.execute("create schema if not exists raw")
        for name, source in SOURCES.items():
            columns = list(source.columns) + list(LOAD_COLUMNS)
            ddl = ", ".join(f'"{c.name}" {c.sql_type}' for c in columns)
            con.execute(f"create table raw.{name} ({ddl})")
            rows = RAW_ROWS[name]
            assert all(len(r) == len(columns) for r in rows), f"fixture rows for {name} do not match the contract"
            if rows:
                placeholders = ", ".join("?" for _ in columns)
                con.executemany(f"insert into raw.{name} values ({placeholders})", rows)
    finally:
        con.close()


def _dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("dbt_build")
    database = work / "warehouse.duckdb"
    _create_raw_layer(database)
    add_pseudonym_map(database)
    env = {
        **os.environ,
        "DUCKDB_DATABASE": str(database),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    # Own target/log dirs: a parallel `dagster dev` may be using dbt_project/target.
    cmd = [
        _dbt_executable(), "build",
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        "--vars", f"{{as_of_date: '{AS_OF_DATE}'}}",
    ]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"dbt build failed:\n{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
    return database


def _query(database: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


# --- contract vs dbt sources ---------------------------------------------------

def _dbt_sources() -> dict[str, dict]:
    found = {}
    for path in sorted((DBT_PROJECT / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in doc.get("sources", []):
            if source.get("schema") != "raw":
                continue  # model outputs and the pseudonym map are written by Dagster assets, not landed
            for table in source.get("tables", []):
                found[table["name"]] = {"system": source["name"], "schema": source.get("schema"), "table": table}
    return found


def test_dbt_sources_match_landing_contract():
    sources = _dbt_sources()
    assert set(sources) == set(SOURCES), "dbt sources and landing.contract.SOURCES list different tables"
    for name, contract in SOURCES.items():
        entry = sources[name]
        assert entry["system"] == SYSTEM_OF[name], f"raw.{name} should be declared under source {SYSTEM_OF[name]!r}"
        assert entry["schema"] == "raw"
        columns = {c["name"]: c for c in entry["table"].get("columns", [])}
        expected = list(contract.columns) + list(LOAD_COLUMNS)
        assert list(columns) == [c.name for c in expected], f"columns of source {name} drifted from the contract"
        for col in expected:
            documented = columns[col.name]
            assert documented.get("data_type", "").lower() == col.sql_type.lower(), f"{name}.{col.name} type"
            assert documented.get("description"), f"{name}.{col.name} has no description"


# --- built warehouse --------------------------------------------------------------

def test_only_the_warehouse_schemas_are_used(warehouse):
    schemas = set(_query(warehouse, "select distinct table_schema from information_schema.tables")["table_schema"])
    assert schemas <= {"raw", "staging", "intermediate", "marts", "ml", "quality"}, schemas
    marts = set(_query(warehouse, "select table_name from information_schema.tables where table_schema = 'marts'")["table_name"])
    assert {"dim_customers", "dim_products", "fct_orders", "fct_order_items", "customer_rfm", "rfm_segment_map"} <= marts


def test_customers_are_deduplicated_and_normalised(warehouse):
    dim = _query(warehouse, with_customer_id("marts.dim_customers") + " order by customer_id").set_index("customer_id")
    assert list(dim.index) == ["C001", "C002", "C003", "C004", "C005", "C006"]
    # the restricted CRM profile keeps the normalised identifiers; the mart only what is derived from them
    crm = _query(warehouse, "select * from staging.stg_crm__customers order by customer_id").set_index("customer_id")

    # the newer CRM version wins: new e-mail and withdrawn consent
    assert crm.loc["C001", "email"] == "alice.new@example.com" and dim.loc["C001", "email_domain"] == "example.com"
    assert not dim.loc["C001", "marketing_consent"]
    assert crm.loc["C003", "email"] == "carol@example.co.uk" and dim.loc["C003", "email_domain"] == "example.co.uk"
    assert pd.isna(crm.loc["C005", "email"]) and not dim.loc["C005", "has_email"]

    assert crm.loc[["C001", "C002", "C003", "C004", "C005"], "phone"].tolist() == [
        "+8613800138000", "+14155550100", "+442079460958", "+49301234567", "+6561234567"]
    assert pd.isna(crm.loc["C006", "phone"]) and not dim.loc["C006", "has_phone"]
    assert dim.loc[["C001", "C002", "C003", "C004", "C005"], "country_code"].tolist() == ["CN", "US", "GB", "DE", "SG"]
    assert pd.isna(dim.loc["C006", "country_code"])
    assert not {"email", "phone", "first_name", "last_name", "birth_date"} & set(dim.columns)

    # age on the as_of_date var (2024-07-01): C004 turns 66 on 2024-07-02
    assert dim.loc["C004", "age_band"] == "65+"
    assert dim.loc["C003", "age_band"] == "18-24"
    assert dim.loc["C006", "age_band"] == "unknown" and dim.loc["C006", "gender"] == "unknown"

    assert dim.loc["C001", ["lifetime_order_count", "completed_order_count", "cancelled_order_count"]].tolist() == [3, 2, 1]
    assert dim.loc["C002", "returned_order_count"] == 1
    assert dim.loc["C001", "first_order_date"] == pd.Timestamp("2024-05-01")
    assert dim.loc["C001", "lifetime_net_revenue"] == 230.00
    assert dim.loc["C006", "lifetime_order_count"] == 0


def test_products_keep_latest_price(warehouse):
    products = _query(warehouse, "select * from marts.dim_products").set_index("product_id")
    assert len(products) == 4
    assert products.loc["P1", "list_price"] == 12.00
    # completed orders only: O1 (2) + O10 (5); O5 was returned
    assert products.loc["P1", "units_sold"] == 7


def test_orders_take_latest_status_and_net_revenue(warehouse):
    orders = _query(warehouse, "select * from marts.fct_orders").set_index("order_id")
    assert len(orders) == len(ORDERS)
    o5 = orders.loc["O5"]
    assert o5["status"] == "returned" and o5["is_returned"] and not o5["is_completed"]
    assert o5["net_revenue"] == 0 and o5["subtotal_amount"] == 60.00
    assert orders.loc["O1", "net_revenue"] == 180.00
    assert orders.loc["O1", "total_amount"] == 190.00
    assert orders.loc["O3", "net_revenue"] == 0
    assert orders.loc["O1", ["line_count", "item_quantity"]].tolist() == [2, 3]
    assert orders["is_subtotal_reconciled"].all()
    assert orders.loc["O7", "order_date"] == pd.Timestamp("2024-06-30")

    items = _query(warehouse, "select * from marts.fct_order_items")
    assert len(items) == sum(len(o[7]) for o in ORDERS)  # re-delivered lines are not double counted
    assert items["order_item_id"].is_unique
    assert (items["line_amount"] == items["quantity"] * items["unit_price"]).all()


def _rfm_in_pandas(orders: pd.DataFrame, reference_date=None) -> pd.DataFrame:
    """customer_rfm's documented definition, written independently of the SQL."""
    orders = orders.assign(order_date=pd.to_datetime(orders["order_date"]))
    ref = pd.Timestamp(reference_date) if reference_date else orders["order_date"].max()
    counted = orders[(orders["status"] == "completed") & (orders["order_date"] <= ref)]
    rfm = counted.groupby("customer_id").agg(
        first_order_date=("order_date", "min"),
        last_order_date=("order_date", "max"),
        frequency=("order_id", "count"),
        monetary=("net_revenue", "sum"),
    )
    # DuckDB hands DECIMAL to pandas as float; cents are exact again after rounding
    rfm["monetary"] = rfm["monetary"].round(2)
    rfm["recency_days"] = (ref - rfm["last_order_date"]).dt.days
    n = len(rfm)

    def score(values: pd.Series, ascending: bool) -> pd.Series:
        ranks = values.astype(float).rank(method="min", ascending=ascending)
        pct = (ranks - 1) / (n - 1) if n > 1 else ranks * 0
        return (1 + (5 * pct).apply(lambda x: int(x // 1))).clip(upper=5).astype(int)

    rfm["r_score"] = score(rfm["recency_days"], ascending=False)
    rfm["f_score"] = score(rfm["frequency"], ascending=True)
    rfm["m_score"] = score(rfm["monetary"], ascending=True)
    rfm["rfm_cell"] = rfm["r_score"].astype(str) + rfm["f_score"].astype(str) + rfm["m_score"].astype(str)
    rfm["reference_date"] = ref
    return rfm


def test_customer_rfm_matches_independent_recomputation(warehouse):
    rfm = _query(warehouse, with_customer_id("marts.customer_rfm")).set_index("customer_id").sort_index()
    orders = _query(warehouse, "select order_id, customer_id, order_date, status, net_revenue from ("
                               + with_customer_id("marts.fct_orders") + ")")
    expected = _rfm_in_pandas(orders).sort_index()

    assert list(rfm.index) == list(expected.index) == ["C001", "C002", "C003", "C004"]
    for col in ["recency_days", "frequency", "r_score", "f_score", "m_score", "rfm_cell"]:
        assert rfm[col].tolist() == expected[col].tolist(), col
    assert rfm["monetary"].round(2).tolist() == expected["monetary"].tolist()
    for col in ["first_order_date", "last_order_date", "reference_date"]:
        assert (pd.to_datetime(rfm[col]) == expected[col]).all(), col


def test_customer_rfm_hand_worked_values(warehouse):
    rfm = _query(warehouse, with_customer_id("marts.customer_rfm")).set_index("customer_id")
    # reference date is O7's day: a returned order still marks how far the data goes
    assert (pd.to_datetime(rfm["reference_date"]) == pd.Timestamp("2024-06-30")).all()
    # C005 only cancelled, C006 never ordered: neither is scored
    assert "C005" not in rfm.index and "C006" not in rfm.index
    got = rfm[["recency_days", "frequency", "monetary", "rfm_cell", "rfm_segment"]].to_dict("index")
    assert got == {
        "C001": {"recency_days": 20, "frequency": 2, "monetary": 230.00, "rfm_cell": "444", "rfm_segment": "Loyal"},
        # O5 was returned, so only O4 counts
        "C002": {"recency_days": 90, "frequency": 1, "monetary": 90.00, "rfm_cell": "211", "rfm_segment": "Hibernating"},
        # tied with C002 on frequency, so both get f_score 1
        "C003": {"recency_days": 2, "frequency": 1, "monetary": 300.00, "rfm_cell": "515", "rfm_segment": "New"},
        "C004": {"recency_days": 107, "frequency": 3, "monetary": 120.00, "rfm_cell": "152", "rfm_segment": "Can't Lose Them"},
    }


def test_segment_map_seed_is_the_agreed_map():
    seed = pd.read_csv(DBT_PROJECT / "seeds" / "rfm_segment_map.csv")
    segment = {(r.r_score, r.f_score): r.segment for r in seed.itertuples()}
    assert len(segment) == 25 == len(seed)
    assert segment[(5, 1)] == "New" and segment[(5, 4)] == "Champions"
    assert segment[(3, 3)] == "Need Attention" and segment[(2, 5)] == "Can't Lose Them"
    assert segment[(1, 2)] == "Hibernating" and segment[(1, 1)] == "Lost"


def test_staging_deduplicates_every_source(warehouse):
    counts = _query(warehouse, """
        select 'events' as t, count(*) as n from staging.stg_web__events
        union all select 'tickets', count(*) from staging.stg_helpdesk__support_tickets
        union all select 'customers', count(*) from staging.stg_crm__customers
    """).set_index("t")["n"].to_dict()
    assert counts == {"events": 2, "tickets": 1, "customers": 6}
    ticket = _query(warehouse, "select * from staging.stg_helpdesk__support_tickets").iloc[0]
    assert ticket["is_closed"] and ticket["satisfaction_score"] == 4
    request = _query(warehouse, "select email from staging.stg_privacy__requests").iloc[0]
    assert request["email"] == "someone@example.com"
    assert _query(warehouse, "select count(*) as n from information_schema.tables where table_schema = 'main'")["n"][0] == 0



def test_dbt_honours_the_duckdb_memory_limit_setting(tmp_path):
    """DUCKDB_MEMORY_LIMIT caps dbt's DuckDB too, not only the Dagster resource's (the largest peak is dbt's)."""
    env = {**os.environ, "DUCKDB_DATABASE": str(tmp_path / "w.duckdb"), "DUCKDB_MEMORY_LIMIT": "1GB",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [_dbt_executable(), "show", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
         "--inline", "select current_setting('memory_limit') as memory_limit"],
        env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "953.6 MiB" in result.stdout  # 1GB (10^9 bytes), as DuckDB reports it
