"""Keeps the Data Docs index current for runs the daemon starts (UI, schedules, the landing sensor).

The checks store their results and render their own pages; the index is rebuilt here, once the
stored results are newer than it, instead of in every check (see ``data_docs``). It starts no runs.
"""

import dagster as dg

from orchestration.settings import Settings

from . import data_docs


@dg.sensor(
    name="data_docs_index",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Rebuilds the Data Docs index ($DATA_DIR/quality/data_docs/index.html) when expectation-suite "
                "results were stored since it was last rendered. Starts no runs.",
)
def data_docs_index(context: dg.SensorEvaluationContext):
    index = data_docs.refresh_index(Settings.from_env().data_dir)
    return dg.SkipReason(f"rebuilt the Data Docs index {index}" if index else "the Data Docs index lists every stored result")
