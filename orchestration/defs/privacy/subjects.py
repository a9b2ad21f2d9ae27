"""Data-subject requests and the person behind each: every identifier the warehouse holds for them.

A request names a CRM customer id, or only an e-mail (the requester may not know their id).
From that we find the person's customer ids (every CRM version with that e-mail), and from
those everything else that identifies them in other sources: their orders, the cookies only
they ever logged in on (a shared device is not theirs alone), the SHA-256 of their e-mails
that social platforms send, and the social handles posted under those hashes.
Identifiers are staged in temp tables (``_subject_<kind>``, one column ``v``) for the queries
of ``erasure`` and ``access``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from landing.contract import SOURCES

from .suppression import SOURCE_SUBJECTS


@dataclass(frozen=True)
class Request:
    request_id: str
    request_type: str
    customer_id: str | None
    email: str | None  # trimmed, lower case
    requested_at: datetime | None


@dataclass
class Subject:
    customer_ids: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # identifiers found per kind

    @property
    def found(self) -> bool:
        return bool(self.customer_ids or self.counts.get("email_sha256") or self.counts.get("social_handle"))


def _clean(column: str) -> str:
    return f"nullif(trim({column}), '')"


def requests(con: duckdb.DuckDBPyConnection, request_type: str, exclude: set[str]) -> list[Request]:
    """The requests of a type in raw (latest delivery of each), oldest first, minus ``exclude``."""
    rows = con.execute(
        f"""
        select request_id, customer_id, email, requested_at from (
            select {_clean('request_id')} as request_id, {_clean('customer_id')} as customer_id,
                   lower({_clean('email')}) as email, requested_at,
                   row_number() over (partition by {_clean('request_id')}
                                      order by _loaded_at desc, _source_file desc, _source_row desc) as latest
            from raw.privacy_requests
            where lower({_clean('request_type')}) = ?
        ) where latest = 1 order by requested_at, request_id
        """,
        [request_type],
    ).fetchall()
    return [Request(r[0], request_type, r[1], r[2], r[3]) for r in rows if r[0] not in exclude]


def stage(con: duckdb.DuckDBPyConnection, request: Request) -> Subject:
    """Find every identifier of the request's person and stage them in ``_subject_*`` temp tables."""
    con.execute("create or replace temp table _subject_customer_id (v varchar)")
    if request.customer_id:
        con.execute("insert into _subject_customer_id values (?)", [request.customer_id])
    elif request.email:
        con.execute(f"""insert into _subject_customer_id
                        select distinct {_clean('customer_id')} from raw.customers
                        where lower({_clean('email')}) = ? and {_clean('customer_id')} is not null""", [request.email])
    con.execute(f"""create or replace temp table _subject_email as
                    select distinct cast(lower({_clean('email')}) as varchar) as v from raw.customers
                    where {_clean('customer_id')} in (select v from _subject_customer_id) and {_clean('email')} is not null""")
    if request.email:
        con.execute("insert into _subject_email select ? where ? not in (select v from _subject_email)",
                    [request.email, request.email])
    con.execute("create or replace temp table _subject_email_sha256 as select distinct sha256(v) as v from _subject_email")
    con.execute(f"""create or replace temp table _subject_order_id as
                    select distinct {_clean('order_id')} as v from raw.orders
                    where {_clean('customer_id')} in (select v from _subject_customer_id) and {_clean('order_id')} is not null""")
    # A cookie is the person's when nobody else ever logged in on it (identity resolution's rule).
    con.execute(f"""create or replace temp table _subject_anonymous_id as
                    with cookies as (
                        select {_clean('anonymous_id')} as v,
                               count(distinct {_clean('customer_id')}) as people,
                               bool_or({_clean('customer_id')} in (select v from _subject_customer_id)) as theirs
                        from raw.web_events
                        where {_clean('anonymous_id')} in (
                            select {_clean('anonymous_id')} from raw.web_events
                            where {_clean('customer_id')} in (select v from _subject_customer_id))
                        group by 1
                    )
                    select v from cookies where theirs and people = 1""")
    handle_sql = dict(SOURCE_SUBJECTS["social_mentions"])["social_handle"]
    hash_sql = dict(SOURCE_SUBJECTS["social_mentions"])["email_sha256"]
    con.execute(f"""create or replace temp table _subject_social_handle as
                    select distinct {handle_sql} as v from raw.social_mentions
                    where {hash_sql} in (select v from _subject_email_sha256) and {_clean('handle')} is not null""")
    kinds = ("customer_id", "email", "email_sha256", "order_id", "anonymous_id", "social_handle")
    counts = {k: con.execute(f"select count(*) from _subject_{k}").fetchone()[0] for k in kinds}
    ids = [r[0] for r in con.execute("select v from _subject_customer_id order by v").fetchall()]
    emails = [r[0] for r in con.execute("select v from _subject_email order by v").fetchall()]
    return Subject(customer_ids=ids, emails=emails, counts=counts)


def row_predicate(source: str) -> str | None:
    """SQL over a raw (or quarantine) table of ``source``: the row belongs to the staged subject."""
    subjects = SOURCE_SUBJECTS.get(source)
    if not subjects:
        return None
    return "(" + " or ".join(f"coalesce(({sql}) in (select v from _subject_{kind}), false)"
                             for kind, sql in subjects) + ")"


def personal_tables(con: duckdb.DuckDBPyConnection, existing: set[str]) -> list[tuple[str, str]]:
    """(table, predicate) for every raw and quarantine table in ``existing`` that can hold the staged person's rows."""
    found = []
    for source in SOURCES:
        predicate = row_predicate(source)
        if predicate is None:
            continue
        for table, extra in ((f"raw.{source}", None), (f"quality.quarantine_{source}", raw_record_predicate(con))):
            if table in existing:
                found.append((table, f"{predicate} or {extra}" if extra else predicate))
    return found


def raw_record_predicate(con: duckdb.DuckDBPyConnection) -> str:
    """Unparseable quarantined lines keep only their raw text: match any of the person's identifiers in it."""
    tokens = [r[0] for r in con.execute(
        "select v from _subject_customer_id union select v from _subject_email union select v from _subject_order_id "
        "union select v from _subject_anonymous_id").fetchall() if r[0]]
    if not tokens:
        return "false"
    alternatives = "|".join(re.escape(t) for t in sorted(tokens))
    pattern = f"(^|[^A-Za-z0-9])({alternatives})([^A-Za-z0-9]|$)"
    return "coalesce(regexp_matches(lower(_raw_record), " + "'" + pattern.lower().replace("'", "''") + "'), false)"
