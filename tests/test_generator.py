"""The demo data generator: determinism, contract conformance, planted dirt and planted truth.

Runs the real generator at a small scale (seconds). Rows are validated with an
independent reader written here, not with the generator's own renderer.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from landing.contract import SOURCES
from landing.generate import generate
from landing.generate.cli import main as cli_main
from landing.generate.params import DIRT_RATES

SMALL = dict(customers=1500, days=120, end_date="2026-10-31", seed=7, chunk_size=800)
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DEC_RE = re.compile(r"^-?\d+\.\d{2}$")
INT_RE = re.compile(r"^-?\d+$")
CJK = re.compile(r"[\u4e00-\u9fff]")
NAME_RE = re.compile(r"^(?P<src>[a-z_]+)_(?P<day>\d{4}-\d{2}-\d{2})_(?P<chunk>\d{3})\.(?P<ext>csv|jsonl|parquet)$")


@pytest.fixture(scope="session")
def gen(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    summary = generate(root / "landing", root / "truth", progress=None, **SMALL)
    truth = json.loads((root / "truth" / "truth.json").read_text(encoding="utf-8"))
    return root, summary, truth


def _files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.rglob("*") if p.is_file())


def _cast_ok(col, v, fmt) -> bool:
    """Whether v can be loaded as the column's logical type (None is handled by the caller)."""
    t = col.type
    if fmt == "parquet":
        return True  # typed columns; parquet cannot carry uncastable values
    if t == "string":
        return isinstance(v, str)
    if t == "timestamp":
        if not (isinstance(v, str) and TS_RE.match(v)):
            return False
        try:
            datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return False
        return True
    if t == "date":
        try:
            datetime.strptime(v, "%Y-%m-%d")
            return isinstance(v, str)
        except (TypeError, ValueError):
            return False
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and bool(INT_RE.match(v)))
    if t == "decimal":
        return (isinstance(v, (int, float)) and not isinstance(v, bool)) or (isinstance(v, str) and bool(DEC_RE.match(v)))
    if t == "boolean":
        return isinstance(v, bool) or v in ("true", "false")
    raise AssertionError(t)


def _num(v):
    return float(v) if not isinstance(v, (int, float)) else v


def _row_ok(src, row: dict, fmt: str) -> bool:
    for col in src.columns:
        v = row.get(col.name)
        if v is None or v == "":
            if col.required:
                return False
            continue
        if not _cast_ok(col, v, fmt):
            return False
        if col.allowed and v not in col.allowed:
            return False
        if col.min_value is not None and float(_num(v)) < col.min_value:
            return False
        if col.max_value is not None and float(_num(v)) > col.max_value:
            return False
    return True


def _read(path: Path, src) -> list[tuple[dict | None, bool]]:
    """(row, clean) for every record of a landing file; row is None when it cannot even be parsed."""
    out = []
    if src.file_format == "csv":
        with open(path, newline="", encoding="utf-8") as fh:
            rd = csv.reader(fh)
            header = next(rd)
            assert header == src.column_names, path
            for rec in rd:
                if len(rec) != len(header):
                    out.append((None, False))
                    continue
                row = {k: (v if v != "" else None) for k, v in zip(header, rec)}
                out.append((row, _row_ok(src, row, "csv")))
    elif src.file_format == "jsonl":
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                out.append((None, False))
                continue
            assert list(row) == src.column_names, path
            out.append((row, _row_ok(src, row, "jsonl")))
    else:
        table = pq.read_table(path)
        assert table.column_names == src.column_names, path
        for row in table.to_pylist():
            out.append((row, _row_ok(src, row, "parquet")))
    return out


@pytest.fixture(scope="session")
def rows(gen):
    """source -> DataFrame of clean rows (with delivery day), plus count of rule-breaking rows."""
    root, _, _ = gen
    data, bad = {}, Counter()
    for name, src in SOURCES.items():
        recs = []
        for path in sorted((root / "landing" / name).rglob(f"*.{src.file_format}")):
            for row, ok in _read(path, src):
                if ok:
                    recs.append({**row, "_delivery": path.parent.name})
                else:
                    bad[name] += 1
        df = pd.DataFrame(recs, columns=src.column_names + ["_delivery"])
        data[name] = df
    return data, bad


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    kw = dict(customers=300, days=30, end_date="2026-03-31", chunk_size=200, progress=None)
    generate(tmp_path / "a", tmp_path / "ta", seed=1, **kw)
    generate(tmp_path / "b", tmp_path / "tb", seed=1, **kw)
    generate(tmp_path / "c", tmp_path / "tc", seed=2, **kw)

    def digest(d: Path) -> dict:
        return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(d)}

    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert a and a == b
    assert digest(tmp_path / "ta") == digest(tmp_path / "tb")
    assert a != c


def test_layout_and_formats(gen):
    root, summary, truth = gen
    landing = root / "landing"
    files = _files(landing)
    assert files
    for p in files:
        m = NAME_RE.match(p.name)
        assert m, p
        src = SOURCES[p.parent.parent.name]
        assert m["src"] == src.name and m["day"] == p.parent.name and m["ext"] == src.file_format
        assert "2026-07-04" <= m["day"] <= "2026-10-31"  # the 120-day window
    assert {p.parent.parent.name for p in files} == set(SOURCES)
    assert int(max(NAME_RE.match(p.name)["chunk"] for p in files)) == 1  # two chunks of 800 customers
    assert summary["rows"] == truth["rows"]


def test_rule_breaking_rows_are_exactly_the_planted_malformed_ones(gen, rows):
    _, _, truth = gen
    _, bad = rows
    planted = {name: truth["dirt"][name]["malformed_total"] for name in SOURCES}
    assert dict(bad) == {k: v for k, v in planted.items() if v}
    assert sum(planted.values()) > 20
    kinds = Counter()
    for name in SOURCES:
        kinds.update(truth["dirt"][name]["malformed"])
    assert {"required_empty", "bad_cast", "not_allowed", "out_of_range", "wrong_field_count", "invalid_json"} <= set(kinds)
    total = sum(truth["rows"].values())
    assert 0.001 < sum(planted.values()) / total < 0.004


def test_row_counts_match_truth(gen, rows):
    _, _, truth = gen
    data, bad = rows
    for name in SOURCES:
        assert len(data[name]) + bad[name] == truth["rows"][name], name


def test_dirt_rates(gen, rows):
    _, _, truth = gen
    data, _ = rows
    d = truth["dirt"]
    cust = data["customers"]
    n_customers = SMALL["customers"]
    assert cust["customer_id"].nunique() == n_customers
    assert d["customers"]["updates"] == len(cust) - n_customers
    assert 0.03 < d["customers"]["updates"] / n_customers < 0.07

    orders = data["orders"]
    exact_dups = len(orders) - len(orders.drop_duplicates(subset=SOURCES["orders"].column_names))
    assert exact_dups == d["orders"]["duplicates"]
    assert 0.003 < exact_dups / len(orders) < 0.012
    events = data["web_events"]
    assert len(events) - events["event_id"].nunique() == d["web_events"]["duplicates"]
    assert 0.004 < d["web_events"]["duplicates"] / len(events) < 0.01
    tickets = data["support_tickets"]
    assert len(tickets) - len(tickets.drop_duplicates(subset=SOURCES["support_tickets"].column_names)) == d["support_tickets"]["duplicates"]

    late = (events["_delivery"] > events["occurred_at"].str[:10]).sum()
    assert late >= d["web_events"]["late"]  # duplicates of late rows are late too
    assert 0.012 < d["web_events"]["late"] / len(events) < 0.028
    first = orders.drop_duplicates("order_id")
    assert 0.012 < d["orders"]["late"] / len(first) < 0.028

    for col, rate in DIRT_RATES["missing"]["customers"].items():
        observed = cust[col].isna().mean()
        assert abs(observed - rate) < max(0.02, rate * 0.4), (col, observed, rate)
        assert d["customers"]["missing"][col] >= cust[col].isna().sum() - 5
    comments = data["survey_responses"]["comment"].isna().mean()
    assert abs(comments - DIRT_RATES["missing"]["survey_responses"]["comment"]) < 0.1


def test_order_amounts_are_consistent(rows):
    data, _ = rows
    orders = data["orders"].drop_duplicates("order_id")
    items = data["order_items"].drop_duplicates(["order_id", "line_number"])
    lines = items.assign(amount=items["quantity"].astype(float) * items["unit_price"].astype(float)).groupby("order_id")["amount"].sum()
    o = orders.set_index("order_id")
    for c in ("subtotal_amount", "discount_amount", "shipping_amount", "total_amount"):
        o[c] = o[c].astype(float)
    assert ((o["subtotal_amount"] - o["discount_amount"] + o["shipping_amount"] - o["total_amount"]).abs() < 0.005).all()
    joined = o.join(lines, how="inner")
    assert len(joined) == len(o)
    assert ((joined["subtotal_amount"] - joined["amount"]).abs() < 0.005).all()
    head_time = o["ordered_at"]
    assert (items.set_index("order_id")["ordered_at"] == head_time.reindex(items["order_id"]).values).all()
    status = data["orders"].drop_duplicates("order_id", keep="last")["status"].value_counts(normalize=True)
    assert 0.03 < status["cancelled"] < 0.07 and 0.035 < status["returned"] < 0.08


def test_returns_are_redelivered_later(rows):
    data, _ = rows
    o = data["orders"].drop_duplicates()
    returned = o[o["status"] == "returned"]
    first = o[o["order_id"].isin(returned["order_id"]) & (o["status"] == "completed")]
    assert len(returned) and set(first["order_id"]) == set(returned["order_id"])
    m = returned.merge(first, on="order_id", suffixes=("_r", "_c"))
    assert (m["updated_at_r"] > m["updated_at_c"]).all()
    assert (m["_delivery_r"] >= m["_delivery_c"]).all()


def test_no_activity_after_alive_until(gen, rows):
    root, _, _ = gen
    data, _ = rows
    ct = pq.read_table(root / "truth" / "customers_truth.parquet").to_pandas()
    alive = ct.set_index("customer_id")["alive_until"]
    signup = ct.set_index("customer_id")["signup_at"]

    def check(df, col):
        t = pd.to_datetime(df[col].astype(str).str.replace("Z", ""))
        assert (t.values <= alive.reindex(df["customer_id"]).values).all(), col
        assert (t.values >= signup.reindex(df["customer_id"]).values).all(), col

    check(data["orders"], "ordered_at")
    ev = data["web_events"].dropna(subset=["customer_id"])
    check(ev, "occurred_at")
    check(data["survey_responses"], "responded_at")
    ce = data["campaign_events"]
    check(ce[ce["event_type"] != "sent"], "occurred_at")
    assert (ct["alive_until"] > pd.Timestamp("2026-10-31 23:59:59")).any()
    assert (ct["alive_until"] < pd.Timestamp("2026-10-31")).any()


def test_personas_behave_differently(gen, rows):
    root, _, truth = gen
    data, _ = rows
    ct = pq.read_table(root / "truth" / "customers_truth.parquet").to_pandas()
    per = ct.groupby("persona")["n_orders"].mean()
    assert per["price_sensitive"] > 2 * per["occasional"]
    assert per["price_sensitive"] > per["trend_seeker"]
    views = ct.groupby("persona")["n_product_views"].mean()
    assert views["trend_seeker"] > views["brand_loyal"]
    o = data["orders"].drop_duplicates("order_id").merge(ct[["customer_id", "persona"]], on="customer_id")
    store = o.groupby("persona")["channel"].apply(lambda s: (s == "store").mean())
    app = o.groupby("persona")["channel"].apply(lambda s: (s == "app").mean())
    assert store["brand_loyal"] > 2 * store["trend_seeker"]
    assert app["price_sensitive"] > app["brand_loyal"]
    orders_per_customer_year = len(o) / SMALL["customers"] * 365 / SMALL["days"]
    assert 6 < orders_per_customer_year < 14
    assert set(truth["persona_counts"]) == {"price_sensitive", "brand_loyal", "trend_seeker", "occasional"}


def test_identity_and_funnel_in_web_events(rows):
    data, _ = rows
    ev = data["web_events"].drop_duplicates("event_id")
    counts = ev["event_type"].value_counts()
    assert counts["product_view"] > counts["add_to_cart"] > counts["checkout"] > counts["purchase"] > 0
    orders = data["orders"].drop_duplicates("order_id")
    assert counts["purchase"] == orders["channel"].isin(["web", "app"]).sum()
    by_anon = ev.groupby("anonymous_id")["customer_id"].agg(lambda s: (s.isna().any(), s.notna().any()))
    assert sum(a and b for a, b in by_anon) > 10  # same device seen both anonymous and logged in
    assert ev["utm_source"].notna().mean() > 0.01


def test_feedback_truth_and_text(gen, rows):
    root, _, truth = gen
    data, _ = rows
    assert data["customers"]["first_name"].dropna().str.contains(CJK).mean() > 0.5
    assert data["survey_responses"]["comment"].dropna().str.contains(CJK).any()
    assert data["support_tickets"]["description"].dropna().str.contains(CJK).any()
    assert data["products"]["name"].str.contains(CJK).any()
    assert data["social_mentions"]["email_sha256"].dropna().str.fullmatch(r"[0-9a-f]{64}").all()
    ct = pq.read_table(root / "truth" / "customers_truth.parquet").to_pandas()
    known = {hashlib.sha256(e.encode()).hexdigest() for e in ct["email"].dropna()}
    assert set(data["social_mentions"]["email_sha256"].dropna()) <= known
    fb = pq.read_table(root / "truth" / "feedback_truth.parquet").to_pandas()
    s = data["survey_responses"].merge(fb[fb["source"] == "survey_responses"], left_on="response_id", right_on="id")
    pos = s[s["sentiment"] == "positive"]["nps_score"].astype(int)
    assert len(s) == len(data["survey_responses"]) and (pos >= 9).all()
    nps = truth["nps"]
    assert nps["planted_effect_after_low_satisfaction_ticket"] < 0
    exp = truth["experiment"]
    assert exp["p_convert"]["treatment"] > exp["p_convert"]["control"] and exp["true_lift_relative"] == pytest.approx(0.25)
    t = data["support_tickets"]
    closed = t.dropna(subset=["closed_at"])
    assert (closed["closed_at"] > closed["opened_at"]).all()


def test_cli_if_empty(tmp_path, capsys):
    land = tmp_path / "landing"
    (land / "orders").mkdir(parents=True)
    (land / "orders" / "x.csv").write_text("x\n")
    assert cli_main(["--out", str(land), "--truth-dir", str(tmp_path / "t"), "--if-empty", "--customers", "50"]) == 0
    assert "already has files" in capsys.readouterr().out
    assert not (tmp_path / "t").exists()
    assert cli_main(["--out", str(tmp_path / "l2"), "--truth-dir", str(tmp_path / "t2"), "--customers", "60", "--days", "10",
                     "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "t2" / "truth.json").exists() and any((tmp_path / "l2" / "customers").rglob("*.csv"))
