"""Row-level expectations (formats, regexes, anything without a SQL translation) run by GX on a sample.

The sample is deterministic and bounded: the ``sample_rows`` rows with the smallest
hash of their content. DuckDB computes it with a top-N heap, so neither the database
nor Python ever holds more than ``sample_rows`` rows, and the same table always gives
the same sample (and the same verdict). Only the columns the expectations use are read. In a
partitioned run the sample is drawn from the rows the run wrote (``TableContext.rows``).
"""

from __future__ import annotations

import functools
import logging

import great_expectations as gx
import pandas as pd
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from .sql_checks import TableContext, q

DEFAULT_SAMPLE_ROWS = 100_000
_SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": 5}


@functools.cache
def _context():
    # One ephemeral context per process: GX keeps nothing on disk for validation itself.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    return gx.get_context(mode="ephemeral")


def _columns_used(expectations: list[dict]) -> list[str]:
    used = []
    for exp in expectations:
        kw = exp["kwargs"]
        for name in [kw.get("column"), kw.get("column_A"), kw.get("column_B"), *kw.get("column_list", [])]:
            if name and name not in used:
                used.append(name)
    return used


def draw_sample(t: TableContext, columns: list[str], sample_rows: int) -> pd.DataFrame:
    missing = [c for c in columns if c not in t.columns]
    if missing:
        raise KeyError(f"columns {missing} are not in {t.relation}; columns are {list(t.columns)}")
    wanted = ", ".join(q(c) for c in columns) or "1 as _row"
    content = ", ".join(q(c) for c in t.columns)
    return t.con.execute(
        f"select {wanted} from {t.rows} order by hash({content}) limit {int(sample_rows)}"
    ).df()


def validate_sample(frame: pd.DataFrame, expectations: list[dict], suite_name: str) -> list:
    """GX ExpectationValidationResults for ``expectations`` on ``frame``, in suite order."""
    ctx = _context()
    source = ctx.data_sources.add_or_update_pandas("quality_samples")
    asset_name = suite_name.replace(".", "__")
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
    try:
        batch_def = asset.get_batch_definition("sample")
    except KeyError:
        batch_def = asset.add_batch_definition_whole_dataframe("sample")
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name=f"{suite_name}.sample")
    for exp in expectations:
        suite.add_expectation_configuration(
            ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"], meta=exp.get("meta", {}))
        )
    result = batch.validate(suite, result_format=_SUMMARY)
    return list(result.results)
