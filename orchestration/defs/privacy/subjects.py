"""Data-subject requests and the person behind each: every identifier the warehouse holds for them.

A request names a CRM customer id, or only an e-mail (the requester may not know their id).
From that we find the person's customer ids (every CRM version with that e-mail), and from
those everything else that identifies them in other sources: their orders, the cookies only
they ever logged in on (a shared device is not theirs alone), the SHA-256 of their e-mails
that social platforms send, and the social handles posted under those hashes.
Identifiers are staged in temp tables (``_subject_<kind>``: ``ord``, the request, and ``v``) for the queries
of ``erasure`` and ``access``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from landing.contract import SOURCES

from .pseudonyms import MAP_TABLE
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


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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


KINDS = ("customer_id", "email", "email_sha256", "order_id", "anonymous_id", "social_handle")


def stage(con: duckdb.DuckDBPyConnection, batch: list[Request]) -> list[Subject]:
    """Find every identifier of each request's person and stage them in ``_subject_*`` temp tables.

    Each table has columns ``ord`` (the request's position in ``batch``) and ``v``; the identifiers of
    the whole batch are found in one scan of each source, so the cost does not grow with the number
    of requests times the size of the clickstream. Returns one ``Subject`` per request, in order.
    """
    con.execute("create or replace temp table _subject_request (ord integer, customer_id varchar, email varchar)")
    con.executemany("insert into _subject_request values (?, ?, ?)",
                    [(i, r.customer_id, r.email) for i, r in enumerate(batch)])
    con.execute(f"""create or replace temp table _subject_customer_id as
                    select ord, customer_id as v from _subject_request where customer_id is not null
                    union
                    select r.ord, {_clean('c.customer_id')} from _subject_request r join raw.customers c
                      on r.customer_id is null and lower({_clean('c.email')}) = r.email
                    where {_clean('c.customer_id')} is not null""")
    con.execute(f"""create or replace temp table _subject_email as
                    select s.ord, cast(lower({_clean('c.email')}) as varchar) as v
                    from raw.customers c join _subject_customer_id s on {_clean('c.customer_id')} = s.v
                    where {_clean('c.email')} is not null
                    union
                    select ord, email from _subject_request where email is not null""")
    con.execute("create or replace temp table _subject_email_sha256 as select distinct ord, sha256(v) as v from _subject_email")
    con.execute(f"""create or replace temp table _subject_order_id as
                    select distinct s.ord, {_clean('o.order_id')} as v
                    from raw.orders o join _subject_customer_id s on {_clean('o.customer_id')} = s.v
                    where {_clean('o.order_id')} is not null""")
    # A cookie is the person's when nobody else ever logged in on it (identity resolution's rule).
    con.execute(f"""create or replace temp table _subject_anonymous_id as
                    with cookies as (
                        select {_clean('anonymous_id')} as v,
                               count(distinct {_clean('customer_id')}) as people,
                               min({_clean('customer_id')}) as customer_id
                        from raw.web_events
                        where {_clean('anonymous_id')} in (
                            select {_clean('anonymous_id')} from raw.web_events
                            where {_clean('customer_id')} in (select v from _subject_customer_id))
                        group by 1
                    )
                    select distinct s.ord, c.v from cookies c join _subject_customer_id s on c.customer_id = s.v
                    where c.people = 1""")
    handle_sql = dict(SOURCE_SUBJECTS["social_mentions"])["social_handle"]
    hash_sql = dict(SOURCE_SUBJECTS["social_mentions"])["email_sha256"]
    con.execute(f"""create or replace temp table _subject_social_handle as
                    select distinct s.ord, m.handle as v
                    from (select {handle_sql} as handle, {hash_sql} as email_hash from raw.social_mentions
                          where {_clean('handle')} is not null) m
                    join _subject_email_sha256 s on m.email_hash = s.v""")
    counts = {k: dict(con.execute(f"select ord, count(*) from _subject_{k} group by ord").fetchall()) for k in KINDS}
    ids: dict[int, list[str]] = {}
    for ord_, v in con.execute("select ord, v from _subject_customer_id order by ord, v").fetchall():
        ids.setdefault(ord_, []).append(v)
    emails: dict[int, list[str]] = {}
    for ord_, v in con.execute("select ord, v from _subject_email order by ord, v").fetchall():
        emails.setdefault(ord_, []).append(v)
    return [Subject(customer_ids=ids.get(i, []), emails=emails.get(i, []),
                    counts={k: counts[k].get(i, 0) for k in KINDS}) for i in range(len(batch))]


def stage_customer_keys(con: duckdb.DuckDBPyConnection, existing: set[str]) -> None:
    """``_subject_customer_key``: the pseudonyms of the staged customer ids (none before the key map exists)."""
    con.execute(f"create or replace temp table _subject_customer_key as select s.ord, m.customer_key as v "
                f"from {MAP_TABLE} m join _subject_customer_id s on m.customer_id = s.v"
                if MAP_TABLE in existing else "create or replace temp table _subject_customer_key (ord integer, v varchar)")


def staged_rows(con: duckdb.DuckDBPyConnection, table: str, kinds: tuple[tuple[str, str], ...],
                raw_record_patterns: dict[int, str] | None = None, every_request: bool = False) -> None:
    """Stage ``_hits(rid, ord)``: the rowids of ``table`` that belong to a staged person, each under the
    earliest request it matches (a row is deleted once), or with ``every_request`` under each request it
    matches (a row is exported to everyone it is about). ``kinds`` pairs a subject kind with SQL over the
    table's columns; ``raw_record_patterns`` adds, per request, a regex over quarantined raw text."""
    parts = [f"""select t.rid, s.ord from (select rowid as rid, ({sql}) as v from {table}) t
                 join _subject_{kind} s on t.v = s.v""" for kind, sql in kinds]
    for ord_, pattern in (raw_record_patterns or {}).items():
        parts.append(f"select rowid as rid, {ord_} as ord from {table} "
                     f"where coalesce(regexp_matches(lower(_raw_record), {_lit(pattern)}), false)")
    matches = " union all ".join(parts)
    con.execute("create or replace temp table _hits as "
                + (f"select distinct rid, ord from ({matches})" if every_request
                   else f"select rid, min(ord) as ord from ({matches}) group by rid"))


def personal_sources(existing: set[str]) -> list[tuple[str, tuple[tuple[str, str], ...], bool]]:
    """(table, its identifier kinds with their SQL, is a quarantine table) for every raw and quarantine table
    in ``existing`` that can hold a person's rows."""
    found = []
    for source in SOURCES:
        kinds = SOURCE_SUBJECTS.get(source)
        if not kinds:
            continue
        for table, quarantine in ((f"raw.{source}", False), (f"quality.quarantine_{source}", True)):
            if table in existing:
                found.append((table, kinds, quarantine))
    return found


def raw_record_patterns(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Per staged request, a regex for any of the person's identifiers in unparseable quarantined text
    (such lines keep only their raw text)."""
    tokens: dict[int, list[str]] = {}
    for ord_, v in con.execute(
            "select ord, v from _subject_customer_id union select ord, v from _subject_email "
            "union select ord, v from _subject_order_id union select ord, v from _subject_anonymous_id "
            "order by ord, v").fetchall():
        if v:
            tokens.setdefault(ord_, []).append(v)
    return {ord_: f"(^|[^a-z0-9])({'|'.join(re.escape(t) for t in found).lower()})([^a-z0-9]|$)"
            for ord_, found in tokens.items()}
