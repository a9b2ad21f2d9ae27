"""The report's charts as matplotlib figures, returned as PNG bytes.

Every chart states its values in labels or annotations and tells series apart by
hatching, markers and line style as well as colour, so it reads in grey print and
for colour-blind readers.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .data import FUNNEL_STEPS, LIFECYCLE_STAGES, ReportData
from .i18n import FUNNEL, KPIS, PROFILE_FEATURES, STAGES, label, t

HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
WIDTH, HEIGHT = 7.2, 3.6
DPI = 110


def to_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _figure(height: float = HEIGHT):
    fig, ax = plt.subplots(figsize=(WIDTH, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _empty(ax, lang):
    ax.text(0.5, 0.5, t("no_data", lang), ha="center", va="center", transform=ax.transAxes, fontsize=12)
    ax.set_axis_off()


def _hbars(ax, labels, values, value_format="{:,.0f}"):
    y = np.arange(len(labels))
    bars = ax.barh(y, values, color=[PALETTE[i % len(PALETTE)] for i in y], edgecolor="black", linewidth=0.6)
    for i, bar in enumerate(bars):
        bar.set_hatch(HATCHES[i % len(HATCHES)])
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    for bar, value in zip(bars, values):
        ax.annotate(value_format.format(value), (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)
    ax.margins(x=0.15)


def _heatmap(ax, matrix: pd.DataFrame, fmt, cmap="Blues", vmin=None, vmax=None):
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(np.nan_to_num(values, nan=0.0), cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            # Text colour from the cell's own luminance: legible on any shade of any colour map.
            r, g, b, _ = image.cmap(image.norm(value))
            colour = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"
            ax.text(j, i, fmt(value), ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns])
    ax.set_yticks(range(matrix.shape[0]), [str(r) for r in matrix.index])
    return image


def segment_name(row, lang) -> str:
    return row["name_zh"] if lang == "zh" else row["name_en"]


def segment_sizes(d: ReportData, lang):
    seg = d["segments"]
    fig, ax = _figure(max(2.2, 0.55 * len(seg) + 1))
    if seg.empty:
        _empty(ax, lang)
        return fig
    labels = [segment_name(r, lang) for _, r in seg.iterrows()]
    _hbars(ax, labels, seg["n_customers"].tolist())
    ax.set_xlabel(t("customers", lang))
    return fig


def segment_profiles(d: ReportData, lang):
    seg = d["segments"].set_index("segment_id")
    fig, ax = _figure(max(2.4, 0.5 * len(seg) + 1.6))
    if seg.empty:
        _empty(ax, lang)
        return fig
    features = list(PROFILE_FEATURES)
    weights = seg["n_customers"].astype(float)
    overall = {f: (seg[f] * weights).sum() / weights.sum() for f in features}
    index = pd.DataFrame({label(PROFILE_FEATURES, f, lang): 100 * seg[f] / overall[f] if overall[f] else np.nan
                          for f in features})
    index.index = [segment_name(seg.loc[i], lang) for i in seg.index]
    _heatmap(ax, index, lambda v: f"{v:.0f}", cmap="PuOr_r", vmin=0, vmax=200)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    return fig


def rfm_grid(d: ReportData, lang):
    grid = d["rfm_grid"].pivot(index="r_score", columns="f_score", values="customers")
    grid = grid.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5]).fillna(0)
    fig, ax = _figure(3.8)
    _heatmap(ax, grid, lambda v: f"{v:.0f}")
    ax.set_ylabel(t("r_score", lang))
    ax.set_xlabel(t("f_score", lang))
    return fig


def lifecycle(d: ReportData, lang):
    counts = d["lifecycle"].set_index("lifecycle_stage")["customers"].reindex(LIFECYCLE_STAGES).fillna(0)
    fig, ax = _figure(3.0)
    _hbars(ax, [label(STAGES, s, lang) for s in counts.index], counts.astype(int).tolist())
    ax.set_xlabel(t("customers", lang))
    return fig


def transitions(d: ReportData, lang):
    frame = d["transitions"]
    fig, ax = _figure(3.6)
    if frame.empty:
        _empty(ax, lang)
        return fig
    order = ["entered", *LIFECYCLE_STAGES]
    matrix = frame.pivot_table(index="from_stage", columns="to_stage", values="customers", aggfunc="sum")
    matrix = matrix.reindex(index=[s for s in order if s in matrix.index],
                            columns=[s for s in order if s in matrix.columns])
    matrix.index = [label(STAGES, s, lang) for s in matrix.index]
    matrix.columns = [label(STAGES, s, lang) for s in matrix.columns]
    _heatmap(ax, matrix, lambda v: f"{v:.0f}", cmap="Greens")
    ax.set_ylabel(t("from_stage", lang))
    ax.set_xlabel(t("to_stage", lang))
    return fig


def cohorts(d: ReportData, lang):
    frame = d["cohorts"]
    fig, ax = _figure(max(2.4, 0.4 * frame["cohort_month"].nunique() + 1.4) if not frame.empty else 2.4)
    if frame.empty:
        _empty(ax, lang)
        return fig
    matrix = frame.pivot(index="cohort_month", columns="months_since_first_order", values="retention_rate")
    sizes = frame.groupby("cohort_month")["cohort_customers"].first()
    matrix.index = [f"{pd.Timestamp(m):%Y-%m} (n={sizes[m]})" for m in matrix.index]
    _heatmap(ax, matrix, lambda v: f"{v:.0%}", cmap="Oranges", vmin=0, vmax=1)
    ax.set_xlabel(t("months_since", lang))
    ax.set_ylabel(t("cohort_month", lang))
    return fig


def churn_distribution(d: ReportData, lang):
    scores = d["churn"]["churn_probability"].dropna()
    fig, ax = _figure()
    if scores.empty:
        _empty(ax, lang)
        return fig
    counts, edges, bars = ax.hist(scores, bins=np.linspace(0, 1, 11), color=PALETTE[5], edgecolor="black",
                                  hatch="//", linewidth=0.6)
    for count, left, right in zip(counts, edges[:-1], edges[1:]):
        if count:
            ax.annotate(f"{count:.0f}", ((left + right) / 2, count), xytext=(0, 2), textcoords="offset points",
                        ha="center", fontsize=8)
    ax.axvline(scores.mean(), color="black", linestyle="--", linewidth=1)
    ax.annotate(f"{t('mean', lang)} {scores.mean():.1%}", (scores.mean(), counts.max()), xytext=(4, -10),
                textcoords="offset points", fontsize=9)
    ax.set_xlabel(t("churn_probability", lang))
    ax.set_ylabel(t("customers", lang))
    return fig


def churn_drivers(d: ReportData, lang):
    drivers = d["churn_drivers"]
    fig, ax = _figure(max(2.2, 0.4 * len(drivers) + 1))
    if drivers.empty:
        _empty(ax, lang)
        return fig
    _hbars(ax, drivers["feature"].tolist(), drivers["customers"].tolist())
    ax.set_xlabel(t("customers", lang))
    return fig


def clv_distribution(d: ReportData, lang):
    clv = d["clv"]["clv"].dropna()
    fig, ax = _figure()
    if clv.empty:
        _empty(ax, lang)
        return fig
    ax.hist(clv, bins=20, color=PALETTE[2], edgecolor="black", hatch="..", linewidth=0.6)
    ax.axvline(clv.median(), color="black", linestyle="--", linewidth=1)
    ax.annotate(f"{t('median', lang)} {clv.median():,.0f}", (clv.median(), 0), xytext=(4, 60),
                textcoords="offset points", fontsize=9)
    ax.set_xlabel(t("clv", lang))
    ax.set_ylabel(t("customers", lang))
    return fig


def clv_holdout(d: ReportData, lang):
    frame = d["clv_holdout"]
    fig, ax = _figure()
    if frame.empty:
        _empty(ax, lang)
        return fig
    x = np.arange(len(frame))
    ax.plot(x, frame["actual"], marker="o", linestyle="-", color=PALETTE[0], label=t("actual", lang))
    ax.plot(x, frame["predicted"], marker="s", linestyle="--", color=PALETTE[5], label=t("predicted", lang))
    ax.set_xticks(x, [f"{b}\n(n={n})" for b, n in zip(frame["frequency_bucket"], frame["n_customers"])])
    ax.set_xlabel(t("freq_bucket", lang))
    ax.set_ylabel(t("mean_purchases", lang))
    ax.legend(frameon=False)
    return fig


def nps_trend(d: ReportData, lang):
    frame = d["nps_trend"]
    fig, ax = _figure()
    if frame.empty:
        _empty(ax, lang)
        return fig
    months = [f"{pd.Timestamp(m):%Y-%m}" for m in frame["response_month"]]
    x = np.arange(len(frame))
    ax.errorbar(x, frame["nps"], yerr=1.96 * frame["nps_standard_error"].fillna(0), marker="o", capsize=4,
                color=PALETTE[0], linestyle="-")
    for xi, nps, n in zip(x, frame["nps"], frame["responses"]):
        ax.annotate(f"{nps:.0f} (n={n})", (xi, nps), xytext=(6, 4), textcoords="offset points", fontsize=8)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(x, months)
    ax.set_ylim(-105, 105)
    ax.set_ylabel(t("nps", lang))
    return fig


def nps_by_segment(d: ReportData, lang):
    frame = d["nps_segments"]
    fig, ax = _figure(max(2.2, 0.4 * len(frame) + 1))
    if frame.empty:
        _empty(ax, lang)
        return fig
    labels = [f"{s} (n={n})" for s, n in zip(frame["rfm_segment"], frame["responses"])]
    _hbars(ax, labels, frame["nps"].tolist(), "{:.0f}")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlim(-105, 115)
    ax.set_xlabel(t("nps", lang))
    return fig


def conversion_funnel(d: ReportData, lang):
    row = d["funnel"].iloc[0].fillna(0)
    values = [int(row[s]) for s in FUNNEL_STEPS]
    fig, ax = _figure(3.0)
    labels = [label(FUNNEL, s, lang) for s in FUNNEL_STEPS]
    _hbars(ax, labels, values)
    for i, value in enumerate(values[1:], start=1):
        if values[i - 1]:
            ax.annotate(f"{value / values[i - 1]:.0%} ↓", (0, i), xytext=(-4, 0), textcoords="offset points",
                        ha="right", va="center", fontsize=8, annotation_clip=False, color="dimgray")
    ax.set_xlabel(t("sessions_label", lang))
    return fig


def ab_results(d: ReportData, lang):
    arms = d["experiments"]
    arms = arms[arms["absolute_lift"].notna()]
    fig, ax = _figure(max(2.2, 0.6 * len(arms) + 1.2))
    if arms.empty:
        _empty(ax, lang)
        return fig
    y = np.arange(len(arms))
    lift = 100 * arms["absolute_lift"].to_numpy()
    low = 100 * arms["lift_ci95_lower"].to_numpy()
    high = 100 * arms["lift_ci95_upper"].to_numpy()
    ax.errorbar(lift, y, xerr=[lift - low, high - lift], fmt="D", capsize=5, color=PALETTE[0], markersize=7)
    for yi, value, lo, hi, p in zip(y, lift, low, high, arms["p_value"]):
        ax.annotate(f"{value:+.1f} pp [{lo:+.1f}, {hi:+.1f}], p={p:.3f}", (value, yi), xytext=(0, 9),
                    textcoords="offset points", ha="center", fontsize=8)
    ax.axvline(0, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(y, [f"{c} {v}" for c, v in zip(arms["campaign_id"], arms["variant"])])
    ax.set_ylim(-0.7, len(arms) - 0.3)
    ax.set_xlabel(t("lift", lang))
    return fig


def kpi_attainment(d: ReportData, lang):
    kpis = d["kpis"]
    kpis = kpis[kpis["target_value"].notna() & kpis["kpi_value"].notna() & (kpis["target_value"] != 0)]
    fig, ax = _figure(max(2.2, 0.45 * len(kpis) + 1))
    if kpis.empty:
        _empty(ax, lang)
        return fig
    ratio = (kpis["kpi_value"] / kpis["target_value"]).to_numpy()
    y = np.arange(len(kpis))
    markers = ["o" if ok else "X" for ok in kpis["is_on_target"].fillna(False)]
    ax.hlines(y, 0, ratio, color="grey", linewidth=1)
    for yi, r, m, row in zip(y, ratio, markers, kpis.itertuples()):
        ok = bool(row.is_on_target) if pd.notna(row.is_on_target) else False
        ax.plot(r, yi, marker=m, markersize=9, color=PALETTE[2] if ok else PALETTE[5], linestyle="none")
        # Values, not only the ratio: for churn_rate lower is better, so a small ratio can be on target.
        ax.annotate(f"{kpi_format(row.kpi_name, row.kpi_value)} / {kpi_format(row.kpi_name, row.target_value)} "
                    f"({t('on_target' if ok else 'off_target', lang)})", (r, yi), xytext=(8, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.axvline(1, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(y, [label(KPIS, k, lang) for k in kpis["kpi_name"]])
    ax.invert_yaxis()
    ax.set_xlim(0, max(2.0, float(np.nanmax(ratio)) * 1.35))
    ax.set_xlabel(t("attainment", lang))
    return fig


def kpi_format(name: str, value) -> str:
    if value is None or pd.isna(value):
        return "–"
    if name.endswith("_rate"):
        return f"{value:.1%}"
    return f"{value:,.2f}" if name in ("aov", "purchase_frequency", "nps") else f"{value:,.0f}"


# chart id -> (title key, drawing function); the order is the report's.
CHARTS = {
    "segment_sizes": ("ch_segment_sizes", segment_sizes),
    "segment_profiles": ("ch_segment_profiles", segment_profiles),
    "rfm_grid": ("ch_rfm_grid", rfm_grid),
    "lifecycle_funnel": ("ch_lifecycle", lifecycle),
    "lifecycle_transitions": ("ch_transitions", transitions),
    "cohort_retention": ("ch_cohorts", cohorts),
    "churn_distribution": ("ch_churn_dist", churn_distribution),
    "churn_drivers": ("ch_churn_drivers", churn_drivers),
    "clv_distribution": ("ch_clv_dist", clv_distribution),
    "clv_holdout": ("ch_clv_holdout", clv_holdout),
    "nps_trend": ("ch_nps_trend", nps_trend),
    "nps_by_segment": ("ch_nps_segment", nps_by_segment),
    "conversion_funnel": ("ch_funnel", conversion_funnel),
    "ab_results": ("ch_ab", ab_results),
    "kpi_vs_target": ("ch_kpi", kpi_attainment),
}


def render_chart(chart_id: str, data: ReportData, lang: str) -> bytes:
    _, draw = CHARTS[chart_id]
    return to_png(draw(data, lang))
