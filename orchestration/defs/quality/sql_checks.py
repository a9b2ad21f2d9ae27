"""Whole-table expectations evaluated exactly inside DuckDB.

Each supported GX expectation type becomes one aggregate query, so only a handful
of numbers leave the database whatever the table size; DuckDB spills its hash
tables to disk when a group-by (uniqueness) outgrows memory. The semantics follow
GX's: ``mostly`` is the share of non-null values that must pass, and unexpected
counts ignore nulls except for the null check itself.

A partitioned run validates the rows it wrote (``changed_rows_only``): the rows of a raw table's
newest load batch, or of an incremental model's newest build (``_built_at``). Row conditions
(nulls, sets, ranges, row-shaped ``unexpected_rows`` queries, the GX sample) read those rows;
uniqueness counts every row sharing a key with them; table-level properties (row counts, columns,
aggregates, freshness, drift) always read the whole table. Older rows were validated by the run
that wrote them, and every unpartitioned build validates every row again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import duckdb

EXAMPLE_ROWS = 5  # failing rows shown per unexpected-rows expectation; enough to find them, never the table


@dataclass
class Outcome:
    success: bool
    observed_value: Any
    unexpected_count: int | None = None
    element_count: int | None = None
    details: dict | None = None


def q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class TableContext:
    """The table under validation, with cached facts several expectations share.

    ``relation`` is the whole table; ``rows`` is what row conditions read: the whole table, or with
    ``changed_rows_only`` the rows its newest load or build wrote (``scope`` says which).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str, table: str, changed_rows_only: bool = False):
        self.con = con
        self.relation = f"{q(schema)}.{q(table)}"
        self.columns = {
            name: dtype
            for name, dtype in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
        }
        if not self.columns:
            raise LookupError(f"table {schema}.{table} does not exist; materialize its asset before validating it")
        self._row_count: int | None = None
        self.rows, self.scope = self.relation, "every row"
        newest = newest_write_filter(self) if changed_rows_only else None
        if newest is not None:
            self.scope, condition = newest
            self.rows = f"(select * from {self.relation} where {condition})"
        self._rows_checked: int | None = None

    @property
    def row_count(self) -> int:
        if self._row_count is None:
            self._row_count = self.con.execute(f"select count(*) from {self.relation}").fetchone()[0]
        return self._row_count

    @property
    def rows_checked(self) -> int:
        """How many rows the row conditions read."""
        if self.rows == self.relation:
            return self.row_count
        if self._rows_checked is None:
            self._rows_checked = self.con.execute(f"select count(*) from {self.rows}").fetchone()[0]
        return self._rows_checked

    def scalar(self, sql: str, params: list | None = None):
        return self.con.execute(sql, params or []).fetchone()[0]

    def column(self, kwargs: dict) -> str:
        name = kwargs["column"]
        if name not in self.columns:
            raise KeyError(f"column {name!r} is not in {self.relation}; columns are {list(self.columns)}")
        return q(name)

    def literal(self, column: str, value) -> str:
        """A bound as a SQL literal of the column's type, so dates compare as dates."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return repr(value)
        return f"cast('{str(value).replace(chr(39), chr(39) * 2)}' as {self.columns[column]})"


def newest_write_filter(t: TableContext) -> "tuple[str, str] | None":
    """(description, condition) selecting the rows of the table's newest write, or None to read every row.

    Raw tables: the load batch with the newest ``_loaded_at`` (a batch loads its files in groups,
    each with its own time, so the batch is found first). Incremental models: the newest ``_built_at``.
    The extra time bound lets DuckDB skip the older row groups by their min/max.
    """
    if "_built_at" in t.columns:
        built = t.scalar(f"select max(_built_at) from {t.relation}")
        if built is None:
            return None
        return f"rows built at {built}", f"_built_at = {t.literal('_built_at', built)}"
    if "_batch_id" in t.columns and "_loaded_at" in t.columns:
        batch = t.scalar(f"select arg_max(_batch_id, _loaded_at) from {t.relation}")
        if batch is None:
            return None
        since = t.scalar(f"select min(_loaded_at) from {t.relation} where _batch_id = ?", [batch])
        return (f"rows of load batch {batch}",
                f"_loaded_at >= {t.literal('_loaded_at', since)} and _batch_id = {t.literal('_batch_id', batch)}")
    return None


def _between(value, kwargs: dict) -> bool:
    if value is None:
        return False
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    strict_lo, strict_hi = kwargs.get("strict_min", False), kwargs.get("strict_max", False)
    if lo is not None and (value <= lo if strict_lo else value < lo):
        return False
    if hi is not None and (value >= hi if strict_hi else value > hi):
        return False
    return True


def _mostly(unexpected: int, nonnull: int, kwargs: dict) -> bool:
    if nonnull == 0:
        return True
    return (nonnull - unexpected) / nonnull >= kwargs.get("mostly", 1.0)


def _row_level(t: TableContext, kwargs: dict, violation: str) -> Outcome:
    col = t.column(kwargs)
    nonnull, unexpected = t.con.execute(
        f"select count({col}), count(*) filter (where {col} is not null and ({violation})) from {t.rows}"
    ).fetchone()
    return Outcome(_mostly(unexpected, nonnull, kwargs), unexpected, unexpected, nonnull)


def row_count_between(t: TableContext, kw: dict) -> Outcome:
    return Outcome(_between(t.row_count, kw), t.row_count)


def column_exists(t: TableContext, kw: dict) -> Outcome:
    return Outcome(kw["column"] in t.columns, kw["column"] in t.columns)


def columns_match_set(t: TableContext, kw: dict) -> Outcome:
    found, wanted = set(t.columns), set(kw["column_set"])
    ok = found == wanted if kw.get("exact_match", True) else wanted <= found
    return Outcome(ok, sorted(found), details={"missing": sorted(wanted - found), "unexpected": sorted(found - wanted)})


def not_null(t: TableContext, kw: dict) -> Outcome:
    col = t.column(kw)
    total, nulls = t.con.execute(f"select count(*), count(*) - count({col}) from {t.rows}").fetchone()
    ok = total == 0 or (total - nulls) / total >= kw.get("mostly", 1.0)
    return Outcome(ok, nulls, nulls, total)


def unique(t: TableContext, kw: dict) -> Outcome:
    return _duplicates(t, [t.column(kw)], kw)


def compound_unique(t: TableContext, kw: dict) -> Outcome:
    cols = [t.column({"column": c}) for c in kw["column_list"]]
    return _duplicates(t, cols, kw)


def _duplicates(t: TableContext, cols: list[str], kw: dict) -> Outcome:
    # GX counts every row that shares its value with another row, not just the extra copies.
    keys = ", ".join(cols)
    not_null_filter = " and ".join(f"{c} is not null" for c in cols)
    if t.rows != t.relation:
        # a new row may repeat a key written before: count every row sharing a key with the new rows
        not_null_filter += f" and ({keys}) in (select {keys} from {t.rows})"
    # Both counts from one aggregate over the groups: in a partitioned run the key filter above probes
    # every row of the table, and two queries paid that twice (raw.web_events' daily key check at L:
    # 4.0 -> 1.9 s CPU).
    unexpected, nonnull = t.con.execute(
        f"select coalesce(sum(n) filter (where n > 1), 0), coalesce(sum(n), 0) "
        f"from (select count(*) as n from {t.relation} where {not_null_filter} group by {keys})"
    ).fetchone()
    unexpected, nonnull = int(unexpected), int(nonnull)
    return Outcome(_mostly(unexpected, nonnull, kw), unexpected, unexpected, nonnull)


def in_set(t: TableContext, kw: dict) -> Outcome:
    col = kw["column"]
    values = ", ".join(t.literal(col, v) for v in kw["value_set"])
    return _row_level(t, kw, f"{q(col)} not in ({values})" if values else "true")


def values_between(t: TableContext, kw: dict) -> Outcome:
    col = kw["column"]
    parts = []
    if kw.get("min_value") is not None:
        parts.append(f"{q(col)} {'<=' if kw.get('strict_min') else '<'} {t.literal(col, kw['min_value'])}")
    if kw.get("max_value") is not None:
        parts.append(f"{q(col)} {'>=' if kw.get('strict_max') else '>'} {t.literal(col, kw['max_value'])}")
    return _row_level(t, kw, " or ".join(parts) or "false")


def _plain(value):
    """Numbers as int/float (Decimal is not JSON); dates and timestamps stay comparable objects."""
    if isinstance(value, bool) or isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return value


def _aggregate(sql_fn: str, cast: Callable = float) -> Callable[[TableContext, dict], Outcome]:
    def check(t: TableContext, kw: dict) -> Outcome:
        col = t.column(kw)
        value = t.scalar(f"select {sql_fn.format(col=col)} from {t.relation}")
        observed = None if value is None else cast(value)
        bounds = {k: kw.get(k) for k in ("min_value", "max_value", "strict_min", "strict_max")}
        if observed is not None and not isinstance(observed, (int, float)):
            bounds = {k: (t.con.execute(f"select {t.literal(kw['column'], v)}").fetchone()[0]
                          if k in ("min_value", "max_value") and v is not None else v) for k, v in bounds.items()}
        return Outcome(_between(observed, bounds), observed if isinstance(observed, (int, float)) else str(observed))
    return check


# `select * from {batch} [alias] where <condition>`, reading {batch} once: a condition on each row,
# so it may read only the new rows. Any other shape (aggregates, freshness, drift) reads every row.
_ROW_CONDITION = re.compile(r"^\s*select\s+\*\s+from\s+\{batch\}(\s+(?!where\b)\w+)?\s+where\b", re.IGNORECASE)


def is_row_condition(query: str) -> bool:
    return bool(_ROW_CONDITION.match(query)) and query.count("{batch}") == 1


def unexpected_rows(t: TableContext, kw: dict) -> Outcome:
    text = kw["unexpected_rows_query"]
    query = text.replace("{batch}", t.rows if is_row_condition(text) else t.relation)
    count = t.scalar(f"select count(*) from ({query})")
    examples = []
    if count:
        cur = t.con.execute(f"select * from ({query}) limit {EXAMPLE_ROWS}")
        names = [d[0] for d in cur.description]
        examples = [{n: (v if isinstance(v, (int, float, bool)) or v is None else str(v)) for n, v in zip(names, row)}
                    for row in cur.fetchall()]
    return Outcome(count == 0, count, count, details={"examples": examples} if examples else None)


SQL_EXPECTATIONS: dict[str, Callable[[TableContext, dict], Outcome]] = {
    "expect_table_row_count_to_be_between": row_count_between,
    "expect_column_to_exist": column_exists,
    "expect_table_columns_to_match_set": columns_match_set,
    "expect_column_values_to_not_be_null": not_null,
    "expect_column_values_to_be_unique": unique,
    "expect_compound_columns_to_be_unique": compound_unique,
    "expect_column_values_to_be_in_set": in_set,
    "expect_column_values_to_be_between": values_between,
    "expect_column_min_to_be_between": _aggregate("min({col})", cast=_plain),
    "expect_column_max_to_be_between": _aggregate("max({col})", cast=_plain),
    "expect_column_mean_to_be_between": _aggregate("avg({col})"),
    "expect_column_sum_to_be_between": _aggregate("sum({col})"),
    "expect_column_proportion_of_unique_values_to_be_between": _aggregate(
        "count(distinct {col}) / nullif(count({col}), 0)"),
    "expect_column_proportion_of_non_null_values_to_be_between": _aggregate("count({col}) / nullif(count(*), 0)"),
    "unexpected_rows_expectation": unexpected_rows,
}


def evaluate(t: TableContext, expectation_type: str, kwargs: dict) -> Outcome:
    return SQL_EXPECTATIONS[expectation_type](t, kwargs)
