"""Nothing published holds personal data: every column of every published table and file, scanned.

Published = the serving file (DuckDB) and its Parquet copies, the audience exports, and the
report (HTML text and PDF text). Scanned for e-mail and international phone patterns, for
columns named like identifiers, and for every identifier the demo generator planted in the CRM
and social feeds (e-mails, phones as delivered, full names, handles; as substrings, and single
first / last names as whole values).
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess

import duckdb
import pytest

from orchestration.defs.privacy import pii_scan


@pytest.fixture(scope="module")
def planted(built_warehouse) -> dict[str, set[str]]:
    """Identifiers straight from the landing files: what the generator gave the customers."""
    landing = built_warehouse.landing_dir
    with duckdb.connect() as con:
        crm = con.execute(
            f"select email, phone, first_name, last_name from read_csv('{landing}/customers/*/*.csv', all_varchar=true, "
            "ignore_errors=true)").fetchall()
        posts = con.execute(f"select handle from read_json('{landing}/social_mentions/*/*.jsonl', "
                            "format='newline_delimited', ignore_errors=true)").fetchall()
    emails = {e.strip().lower() for e, _, _, _ in crm if e and "@" in e}
    phones = {p.strip() for _, p, _, _ in crm if p and len(re.sub(r"\D", "", p)) >= 8}
    full = {f"{f.strip()} {la.strip()}" for _, _, f, la in crm if f and la} | \
           {f"{la.strip()}{f.strip()}" for _, _, f, la in crm if f and la and not f.isascii()}
    singles = {n.strip() for _, _, f, la in crm for n in (f, la) if n and len(n.strip()) >= 3}
    handles = {h for (h,) in posts if h and len(h) >= 4}
    assert len(emails) > 100 and len(phones) > 100 and len(full) > 100 and handles
    return {"substrings": emails | phones | full | handles, "singles": singles}


def _published_database_findings(path, planted) -> list:
    with duckdb.connect() as con:
        con.execute(f"attach '{path}' as published (read_only)")
        con.execute("create temp table _pii_identifiers as select unnest(?) as identifier",
                    [sorted(planted["substrings"] | planted["singles"])])
        findings = pii_scan.scan_database(con, "published", ("marts", "ml", "main"))
        # substrings too: a planted e-mail inside a longer text value
        pattern = "|".join(re.escape(s) for s in sorted(planted["substrings"], key=len, reverse=True))
        for schema, table, column in con.execute(
                "select schema_name, table_name, column_name from duckdb_columns() "
                "where database_name = 'published' and data_type = 'VARCHAR'").fetchall():
            n = con.execute(f'select count(*) from published."{schema}"."{table}" where regexp_matches("{column}", ?)',
                            [pattern]).fetchone()[0]
            if n:
                findings.append(pii_scan.Finding(f"{schema}.{table}.{column}", "planted_substring", n))
    return findings


def test_serving_file_holds_no_personal_data(built_warehouse, planted):
    path = built_warehouse.data_dir / "serving" / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        text_columns = con.execute("select count(*) from duckdb_columns() where data_type = 'VARCHAR' "
                                   "and schema_name in ('marts', 'ml')").fetchone()[0]
    assert text_columns > 50
    assert _published_database_findings(path, planted) == []


def test_parquet_exports_of_the_marts_hold_no_personal_data(built_warehouse, planted, tmp_path):
    folder = built_warehouse.data_dir / "serving" / "parquet"
    files = sorted(folder.rglob("*.parquet"))
    assert files
    database = tmp_path / "parquet_view.duckdb"
    with duckdb.connect(str(database)) as con:
        for f in files:
            schema = f.parent.name
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table {schema}.\"{f.stem}\" as select * from read_parquet('{f}')")
    assert _published_database_findings(database, planted) == []


def test_audience_exports_hold_no_personal_data(built_warehouse, planted):
    files = sorted((built_warehouse.data_dir / "exports").glob("*"))
    assert any(f.suffix == ".csv" for f in files) and any(f.suffix == ".json" for f in files)
    findings = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        findings += pii_scan.scan_text(f.name, text, planted["substrings"])
        if f.name.endswith("_hashed.csv"):
            # Google's Customer Match template names the column Email; every value must be a SHA-256 digest
            with f.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.reader(fh))
            assert rows[0] == ["Email"] and all(re.fullmatch(r"[0-9a-f]{64}", r[0]) for r in rows[1:]), f.name
        elif f.suffix == ".csv":
            with f.open(encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh)
                header = next(reader)
                assert not {h.lower().replace(" ", "_") for h in header} & pii_scan.FORBIDDEN_COLUMNS, f.name
                findings += [pii_scan.Finding(f.name, "planted_name", 1) for row in reader
                             for cell in row if cell in planted["singles"]]
    assert findings == []


def _report_text(path) -> str:
    if path.suffix == ".pdf":
        pdftotext = shutil.which("pdftotext")
        assert pdftotext, "poppler-utils' pdftotext is needed to read the PDF report (.ci/run installs it)"
        return subprocess.run([pdftotext, str(path), "-"], capture_output=True, text=True, check=True).stdout
    # embedded charts are base64 data: not text a reader sees
    return re.sub(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", "", path.read_text(encoding="utf-8"))


def test_report_holds_no_personal_data(built_warehouse, planted):
    reports = sorted((built_warehouse.data_dir / "reports").glob("customer_profile_*"))
    assert {p.suffix for p in reports} == {".html", ".pdf"}
    findings = []
    for path in reports:
        findings += pii_scan.scan_text(path.name, _report_text(path), planted["substrings"])
    assert findings == []


def test_scanner_finds_what_it_looks_for(tmp_path):
    """The scan must be able to fail: a mart copying an e-mail, a phone and a name is caught."""
    path = tmp_path / "leaky.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.leaky as select 'k1' as customer_key, 'wang.li@example.cn' as contact, "
                    "'call +86 138 0013 8000' as note, 'Li Wang' as who, 'ok' as fine")
        con.execute("create table marts.named as select 'x' as email")
    findings = _published_database_findings(path, {"substrings": {"Li Wang"}, "singles": set()})
    kinds = {(f.where, f.kind) for f in findings}
    assert ("marts.leaky.contact", "email") in kinds and ("marts.leaky.note", "phone") in kinds
    assert ("marts.leaky.who", "known_identifier") in kinds and ("marts.named.email", "column_name") in kinds
    assert not [f for f in findings if f.where == "marts.leaky.fine"]
