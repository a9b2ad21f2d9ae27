"""Everything the report shows, read once from the warehouse into DataFrames.

Marts and model outputs come from the published serving file (what BI tools see);
the data-quality figures come from the build warehouse's ``quality`` schema, which
is never published because it holds rejected personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

LIFECYCLE_STAGES = ("prospect", "new", "active", "reactivated", "dormant", "churned")
FUNNEL_STEPS = ("sessions", "product_view_sessions", "add_to_cart_sessions", "checkout_sessions", "purchase_sessions")

PUBLISHED_QUERIES = {
    "period": """
        select min(order_date) as first_day, max(order_date) as last_day,
               count(*) as orders, count(distinct customer_key) as buyers
        from marts.fct_orders""",
    "customers": "select count(*) as customers, sum(case when marketing_consent then 1 else 0 end) as consenting "
                 "from marts.dim_customers",
    "segments": """
        select segment_id, name_en, name_zh, n_customers, share, top_categories, mean_recency_days,
               mean_frequency, mean_monetary, mean_avg_order_value, mean_discount_share, mean_orders_per_month,
               mean_web_days_per_order
        from ml.segment_profiles order by segment_id""",
    # One row per segment (prospects included) with what the actions are decided on.
    "segment_outcomes": """
        select s.segment_id, count(*) as customers,
               avg(case when c.lifecycle_stage in ('dormant', 'churned') then 1.0 else 0.0 end) as lapsed_share,
               avg(c.churn_probability) as mean_churn_probability, avg(c.clv) as mean_clv,
               avg(c.lifetime_net_revenue) as mean_revenue,
               avg(case when c.marketing_consent then 1.0 else 0.0 end) as consent_share,
               mode(c.favourite_category) as favourite_category, mode(c.favourite_channel) as favourite_channel,
               mode(c.age_band) as age_band, mode(c.lifecycle_stage) as typical_stage
        from ml.customer_segments s join marts.customer_360 c using (customer_key)
        group by 1 order by 1""",
    "rfm_grid": "select r_score, f_score, count(*) as customers from marts.customer_rfm group by all order by 1, 2",
    "rfm_segments": "select rfm_segment, count(*) as customers from marts.customer_rfm group by 1 order by 2 desc",
    "lifecycle": "select lifecycle_stage, count(*) as customers from marts.customer_lifecycle group by 1",
    "transitions": """
        select from_stage, to_stage, sum(customer_count) as customers
        from marts.customer_lifecycle_transitions
        where month_start = (select max(month_start) from marts.customer_lifecycle_transitions)
        group by all""",
    "transitions_month": "select max(month_start) as month from marts.customer_lifecycle_transitions",
    "cohorts": """
        select cohort_month, months_since_first_order, cohort_customers, retention_rate, is_partial_month
        from marts.cohort_retention order by 1, 2""",
    "churn": "select churn_probability, risk_decile from ml.churn_scores",
    "churn_drivers": """
        select feature, count(*) as customers, avg(contribution) as mean_contribution
        from ml.churn_drivers where rank = 1 group by 1 order by 2 desc, 1 limit 8""",
    "clv": "select clv, prob_alive, expected_purchases from ml.customer_clv",
    "clv_holdout": "select frequency_bucket, n_customers, actual, predicted from ml.clv_holdout_by_frequency",
    "nps_trend": """
        select response_month, responses, nps, nps_standard_error from marts.nps_summary
        where breakdown = 'overall' order by 1""",
    # Counts summed over every month, then recomputed: NPS does not average.
    "nps_segments": """
        select breakdown_value as rfm_segment, sum(responses) as responses,
               100.0 * (sum(promoters) - sum(detractors)) / sum(responses) as nps
        from marts.nps_summary where breakdown = 'rfm_segment'
        group by 1 having sum(responses) > 0 order by 2 desc, 1""",
    "nps_overall": """
        select sum(responses) as responses, 100.0 * (sum(promoters) - sum(detractors)) / sum(responses) as nps
        from marts.nps_summary where breakdown = 'overall'""",
    "funnel": "select " + ", ".join(f"sum({s}) as {s}" for s in FUNNEL_STEPS) + " from marts.fct_conversion_funnel",
    "experiments": """
        select campaign_id, variant, is_control, exposed, converted, conversion_rate, absolute_lift,
               lift_ci95_lower, lift_ci95_upper, p_value, has_sample_ratio_mismatch
        from marts.experiment_results order by campaign_id, is_control desc, variant""",
    # The latest month with every day in it; the running month would look like a miss.
    "kpis": """
        select month_start, kpi_name, kpi_value, target_value, gap_to_target, is_on_target
        from marts.kpi_monthly
        where month_start = (select max(month_start) from marts.kpi_monthly where not is_partial_month)
           or (month_start = (select max(month_start) from marts.kpi_monthly)
               and not exists (select 1 from marts.kpi_monthly where not is_partial_month))
        order by kpi_name""",
    "reference": "select max(reference_date) as reference_date from marts.customer_rfm",
}

QUALITY_QUERIES = {
    "sources": """
        select source, count(*) as files, sum(rows_landed) as rows_landed, sum(rows_loaded) as rows_loaded,
               sum(rows_quarantined) as rows_quarantined
        from quality.ingest_files group by 1 order by 1""",
    "rejected": "select source, count(*) as files from quality.rejected_files group by 1",
    # The latest validation run only: the table keeps the whole history.
    "checks": """
        select count(*) as checks, sum(case when success then 1 else 0 end) as passed, count(distinct suite) as suites
        from quality.validation_results
        where run_id = (select run_id from quality.validation_results order by validated_at desc limit 1)""",
}


@dataclass
class ReportData:
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def scalar(self, frame: str, column: str):
        value = self.frames[frame][column].iloc[0]
        return None if pd.isna(value) else value


def _read(con: duckdb.DuckDBPyConnection, queries: dict[str, str]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, sql in queries.items():
        try:
            out[name] = con.execute(sql).df()
        except duckdb.Error as exc:
            raise RuntimeError(f"report query '{name}' failed ({exc}); build the marts and ml tables it reads "
                               "(`python -m orchestration build`) before the report") from exc
    return out


def load_report_data(published: duckdb.DuckDBPyConnection, quality: duckdb.DuckDBPyConnection) -> ReportData:
    return ReportData({**_read(published, PUBLISHED_QUERIES), **_read(quality, QUALITY_QUERIES)})
