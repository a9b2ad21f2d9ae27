"""Find personal data where it must not be: published tables and files.

Two kinds of evidence, for every text column of every table (and every text file):
* patterns: an e-mail address, or an international phone number (+ and 8-15 digits);
* known identifiers: the e-mail addresses, phone numbers (normalised and as delivered), full
  names and social handles that restricted staging holds, matched as whole values.
And no column may be named like a direct identifier. The serving snapshot runs this on its
aside copy before swapping it in, so a leak stops the publication; the tests run it (with
substring search on top) over everything published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z]"
PHONE_PATTERN = r"\+[0-9][0-9 ().-]{6,}[0-9]"
FORBIDDEN_COLUMNS = frozenset({"email", "phone", "phone_as_delivered", "first_name", "last_name", "full_name",
                               "birth_date", "handle", "address", "customer_id"})

# Every direct identifier restricted staging knows, one per row: what may never appear in a published value.
IDENTIFIERS_SQL = """
select distinct identifier from (
    select email as identifier from staging.stg_crm__customers
    union all select phone from staging.stg_crm__customers
    union all select phone_as_delivered from staging.stg_crm__customers
    union all select first_name || ' ' || last_name from staging.stg_crm__customers
    union all select last_name || first_name from staging.stg_crm__customers
    union all select last_name || ' ' || first_name from staging.stg_crm__customers
    union all select handle from staging.stg_social__mentions
    union all select platform || ':' || handle from staging.stg_social__mentions
) where identifier is not null and length(identifier) >= 3
"""


@dataclass(frozen=True)
class Finding:
    where: str  # table.column or file
    kind: str  # email | phone | known_identifier | column_name
    count: int
    example: str = ""  # the kind of value, never the value itself (findings go to logs)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_identifiers(con: duckdb.DuckDBPyConnection, table: str = "_pii_identifiers") -> int:
    """Stage the known identifiers in a temp table; 0 when restricted staging is not built."""
    try:
        con.execute(f"create or replace temp table {table} as {IDENTIFIERS_SQL}")
    except duckdb.CatalogException:
        con.execute(f"create or replace temp table {table} (identifier varchar)")
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def scan_database(con: duckdb.DuckDBPyConnection, database: str, schemas: tuple[str, ...],
                  identifiers_table: str | None = "_pii_identifiers") -> list[Finding]:
    """Findings in every table of ``schemas`` in the attached ``database``."""
    columns = con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        f"where database_name = ? and schema_name in ({', '.join('?' for _ in schemas)}) order by 1, 2, 3",
        [database, *schemas]).fetchall()
    findings = []
    for schema, table, column, data_type in columns:
        where = f"{schema}.{table}.{column}"
        if column.lower() in FORBIDDEN_COLUMNS:
            findings.append(Finding(where, "column_name", 1))
        if data_type != "VARCHAR":
            continue
        known = (f"count(*) filter (where v in (select identifier from {identifiers_table}))"
                 if identifiers_table else "0")
        emails, phones, identifiers = con.execute(
            f"""select count(*) filter (where regexp_matches(v, ?)), count(*) filter (where regexp_matches(v, ?)), {known}
                from (select {_quote(column)} as v from {_quote(database)}.{_quote(schema)}.{_quote(table)}
                      where {_quote(column)} is not null)""",
            [EMAIL_PATTERN, PHONE_PATTERN]).fetchone()
        for kind, n in (("email", emails), ("phone", phones), ("known_identifier", identifiers)):
            if n:
                findings.append(Finding(where, kind, n))
    return findings


def scan_text(where: str, text: str, identifiers: set[str] | None = None) -> list[Finding]:
    """Findings in a text file's content: patterns anywhere, known identifiers as substrings."""
    findings = []
    for kind, pattern in (("email", EMAIL_PATTERN), ("phone", PHONE_PATTERN)):
        n = len(re.findall(pattern, text))
        if n:
            findings.append(Finding(where, kind, n))
    if identifiers:
        n = sum(1 for i in identifiers if i in text)
        if n:
            findings.append(Finding(where, "known_identifier", n))
    return findings
