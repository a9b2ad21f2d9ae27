"""The suppression list: who was erased, as keyed hashes, so old landing files cannot bring them back.

An erasure deletes a person's rows, but their records still sit in landing files that may be
delivered or reloaded again. Each erased identifier (customer id, order id, cookie, hashed
e-mail, social handle) is remembered as ``HMAC(key, "suppress:<type>:<value>")``: enough to
recognise the identifier when it comes back, useless for finding out who it was. Ingest drops
rows whose identifiers are on the list (counted as suppressed, never silently), and the key
map never gives a suppressed customer a key again.
"""

from __future__ import annotations

import duckdb

from orchestration.secret_keys import PseudonymKey, hmac_sql

TABLE = "quality.privacy_suppression"
SUBJECT_TYPES = ("customer_id", "order_id", "anonymous_id", "email_sha256", "social_handle")

# Which columns of which source identify a person, as (subject type, SQL over the source's text
# columns). Ingest checks new rows against these; erasure fills the list with the same types.
def _clean(column: str) -> str:
    # the staging models' clean_string(): identifiers arrive padded or empty in some feeds
    return f"nullif(trim({column}), '')"


SOURCE_SUBJECTS: dict[str, tuple[tuple[str, str], ...]] = {
    "customers": (("customer_id", _clean("customer_id")),),
    "orders": (("customer_id", _clean("customer_id")), ("order_id", _clean("order_id"))),
    "order_items": (("order_id", _clean("order_id")),),
    "web_events": (("customer_id", _clean("customer_id")), ("anonymous_id", _clean("anonymous_id"))),
    "support_tickets": (("customer_id", _clean("customer_id")),),
    "survey_responses": (("customer_id", _clean("customer_id")),),
    "campaign_events": (("customer_id", _clean("customer_id")),),
    "social_mentions": (("email_sha256", f"lower({_clean('email_sha256')})"),
                        ("social_handle", f"lower({_clean('platform')}) || ':' || {_clean('handle')}")),
}


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists quality")
    con.execute(f"""create table if not exists {TABLE} (
        subject_type varchar not null,
        subject_hash varchar not null,
        request_id varchar not null,
        suppressed_at timestamp not null
    )""")


def subject_hash(key: PseudonymKey, subject_type: str, value: str) -> str:
    return key.hex(f"suppress:{subject_type}:{value}")


def subject_hash_sql(subject_type: str, value_sql: str) -> str:
    """Keyed hash of an identifier in SQL; the query must bind ``key.sql_params()``."""
    assert subject_type in SUBJECT_TYPES, subject_type
    return hmac_sql(f"'suppress:{subject_type}:' || ({value_sql})")


def is_suppressed_sql(subject_type: str, value_sql: str) -> str:
    return (f"coalesce({subject_hash_sql(subject_type, value_sql)} in "
            f"(select subject_hash from {TABLE} where subject_type = '{subject_type}'), false)")


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    ensure_table(con)
    return con.execute(f"select count(*) = 0 from {TABLE}").fetchone()[0]


def add(con: duckdb.DuckDBPyConnection, key: PseudonymKey, request_id: str, subject_type: str, values_sql: str) -> int:
    """Add the distinct non-null values of a one-column query (column ``v``) under ``subject_type``."""
    before = con.execute(f"select count(*) from {TABLE}").fetchone()[0]
    con.execute(
        f"""insert into {TABLE}
            select distinct '{subject_type}', {subject_hash_sql(subject_type, 'v')}, $request_id, now()
            from ({values_sql}) as subjects
            where v is not null
              and {subject_hash_sql(subject_type, 'v')} not in (
                  select subject_hash from {TABLE} where subject_type = '{subject_type}')""",
        {**key.sql_params(), "request_id": request_id},
    )
    return con.execute(f"select count(*) from {TABLE}").fetchone()[0] - before


def suppressed_row_filter(con: duckdb.DuckDBPyConnection, key: PseudonymKey, source: str, relation: str) -> str | None:
    """A SQL predicate over ``relation``'s rows that is true for rows of suppressed people.

    Hashes only the distinct identifiers of the relation (a few per customer, not one per event)
    and materialises the few that are suppressed into temp tables the predicate looks up.
    None when the source carries no personal identifiers or nothing is suppressed.
    """
    subjects = SOURCE_SUBJECTS.get(source)
    if not subjects or is_empty(con):
        return None
    tests = []
    for i, (subject_type, value_sql) in enumerate(subjects):
        temp = f"_suppressed_{source}_{i}"
        con.execute(
            f"""create or replace temp table {temp} as
                with vals as (select distinct {value_sql} as v from {relation})
                select v from vals
                where v is not null and {subject_hash_sql(subject_type, 'v')} in (
                    select subject_hash from {TABLE} where subject_type = '{subject_type}')""",
            key.sql_params(),
        )
        tests.append(f"coalesce(({value_sql}) in (select v from {temp}), false)")
        if source == "orders" and subject_type == "customer_id":
            suppress_orders_of_suppressed_customers(con, key, relation, temp)
    return "(" + " or ".join(tests) + ")"


def suppress_orders_of_suppressed_customers(con: duckdb.DuckDBPyConnection, key: PseudonymKey, relation: str,
                                            customers: str) -> None:
    """Put the order ids of an erased customer's orders in ``relation`` on the list, under the same request.

    Orders placed after the erasure are dropped by their customer id, but their lines carry only
    the order id: without this they would load as lines of an order that does not exist (and fail
    raw.order_items' suite, blocking every build after). raw.order_items loads after raw.orders, so
    the lines of this delivery are dropped too, as are lines delivered later. ``customers`` is the
    one-column (``v``) table of the relation's suppressed customer ids.
    """
    con.execute(
        f"""insert into {TABLE}
            select distinct 'order_id', {subject_hash_sql('order_id', 'o.order_id')}, s.request_id, now()
            from (select {_clean('order_id')} as order_id, {_clean('customer_id')} as customer_id
                  from {relation}) as o
            join {customers} as c on o.customer_id = c.v
            join {TABLE} as s on s.subject_type = 'customer_id'
                and s.subject_hash = {subject_hash_sql('customer_id', 'o.customer_id')}
            where o.order_id is not null
              and {subject_hash_sql('order_id', 'o.order_id')} not in (
                  select subject_hash from {TABLE} where subject_type = 'order_id')""",
        key.sql_params(),
    )
