"""``report/customer_profile_report`` and ``report/audience_exports``: what managers read and marketers send.

Both sit after the serving snapshot, so they run only when every blocking check on the
marts and models passed in this run; they also depend on the marts and model tables
they read, so the lineage in the UI (and in dbt docs, through the exposures in
``dbt_project/models/exposures.yml``) shows where each figure and list comes from.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.serving.assets import SNAPSHOT_KEY
from orchestration.defs.serving.publish import SERVING_FILE, open_serving_file
from orchestration.secret_keys import encryption_key
from orchestration.settings import Settings
from reporting.audiences import AudienceRules
from reporting.build import build_reports
from reporting.data import load_report_data
from reporting.exports import write_exports

GROUP = "report"
REPORTS_SUBDIR = "reports"


def _marts(*names):
    return [dg.AssetKey(["marts", n]) for n in names]


def _ml(*names):
    return [dg.AssetKey(["ml", n]) for n in names]


# Keep in step with the exposures' depends_on in dbt_project/models/exposures.yml.
REPORT_READS = [
    *_marts("fct_orders", "dim_customers", "customer_rfm", "customer_lifecycle", "customer_lifecycle_transitions",
            "cohort_retention", "nps_summary", "fct_conversion_funnel", "experiment_results", "kpi_monthly",
            "customer_360"),
    *_ml("segment_profiles", "customer_segments", "churn_scores", "churn_drivers", "customer_clv", "clv_model"),
]
EXPORT_READS = [*_marts("customer_360", "dim_customers", "dim_products"),
                *_ml("customer_segments", "churn_scores", "customer_clv", "recommendations")]


def reports_dir(settings: Settings):
    return settings.data_dir / REPORTS_SUBDIR


@dg.asset(
    key=dg.AssetKey([GROUP, "customer_profile_report"]),
    deps=[*REPORT_READS, SNAPSHOT_KEY],
    group_name=GROUP, kinds={"python", "html", "pdf"}, owners=["team:analytics"], pool="duckdb_writer",
    description="The customer-profile operations report, in Chinese and English: self-contained HTML (charts "
                "embedded) and PDF under `$DATA_DIR/reports/customer_profile_<zh|en>.<html|pdf>`. Marts and model "
                "outputs are read from the published serving file; data-quality figures from the `quality` schema.",
)
def customer_profile_report(context: dg.AssetExecutionContext, warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = Settings.from_env()
    serving_file = settings.serving_dir / SERVING_FILE
    if not serving_file.exists():
        raise dg.Failure(f"{serving_file} does not exist: materialize serving/warehouse_snapshot first.")
    with open_serving_file(serving_file, encryption_key()) as published, warehouse.get_connection() as internal:
        data = load_report_data(published, internal)
    build = build_reports(data, reports_dir(settings), run_id=context.run.run_id)
    for r in build.reports:
        context.log.info(f"report {r.lang}: {r.html} ({r.html_bytes:,} bytes), {r.pdf} ({r.pdf_bytes:,} bytes, "
                         f"{r.pages} pages)")
    metadata = {"build_seconds": round(build.seconds, 1), "charts": build.reports[0].charts if build.reports else 0}
    for r in build.reports:
        metadata.update({f"{r.lang}_html": dg.MetadataValue.path(str(r.html)), f"{r.lang}_html_bytes": r.html_bytes,
                         f"{r.lang}_pdf": dg.MetadataValue.path(str(r.pdf)), f"{r.lang}_pdf_bytes": r.pdf_bytes,
                         f"{r.lang}_pdf_pages": r.pages})
    return dg.MaterializeResult(metadata=metadata)


class AudienceExportConfig(dg.Config):
    # null: the scored customers' mean churn probability (above-average risk)
    churn_min_probability: float | None = AudienceRules.churn_min_probability
    churn_top_share: float = AudienceRules.churn_top_share
    churn_top_n: int | None = AudienceRules.churn_top_n
    upsell_products: int = AudienceRules.upsell_products


@dg.asset(
    key=dg.AssetKey([GROUP, "audience_exports"]),
    deps=[*EXPORT_READS, SNAPSHOT_KEY],
    group_name=GROUP, kinds={"python", "csv"}, owners=["team:marketing-analytics"], pool="duckdb_writer",
    description="Audience files for marketing tools under `$EXPORTS_DIR`: churn risk, win-back, upsell with "
                "recommended products, and one per segment; Mailchimp-style CSV, a SHA-256 e-mail file for ad "
                "platforms and a manifest each. Only customers with current marketing consent.",
)
def audience_exports(context: dg.AssetExecutionContext, config: AudienceExportConfig,
                     warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = Settings.from_env()
    rules = AudienceRules(config.churn_min_probability, config.churn_top_share, config.churn_top_n,
                          config.upsell_products)
    # The build warehouse, not the serving file: contact details stay out of what BI tools read.
    with warehouse.get_connection() as con:
        results = write_exports(con, settings.exports_dir, run_id=context.run.run_id, rules=rules)
    rows = {r.name: r.rows for r in results}
    context.log.info(f"exports in {settings.exports_dir}: " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(rows.values()), "exports_dir": dg.MetadataValue.path(str(settings.exports_dir)),
        "rows_by_export": dg.MetadataValue.json(rows),
        "left_out_without_consent": sum(r.candidates - r.rows for r in results),
    })
