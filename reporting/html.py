"""The report as one self-contained HTML page: inline CSS, charts as base64 PNG.

Figures that tests and readers check against the warehouse carry a ``data-key``
attribute, so a check can find "the NPS" without parsing prose.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from html import escape

import pandas as pd

from .actions import ACTION_NAMES, ACTIONS, PROSPECT_SEGMENT, RULES, SegmentAction
from .data import FUNNEL_STEPS, LIFECYCLE_STAGES, ReportData
from .definitions import mart_definitions
from .i18n import FUNNEL, GLOSSARY, KPIS, SOURCES, STAGES, label, t

CSS = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       color: #1a1a1a; font-size: 10.5pt; line-height: 1.5; max-width: 190mm; margin: 0 auto; }
h1 { font-size: 24pt; margin: 0 0 8mm; } h2 { font-size: 15pt; border-bottom: 2px solid #0072B2; padding-bottom: 2px; }
h3 { font-size: 12pt; margin: 6mm 0 2mm; }
section.chapter { break-before: page; } section.cover { height: 240mm; display: flex; flex-direction: column;
  justify-content: center; } .cover p { font-size: 12pt; margin: 1mm 0; }
figure { margin: 3mm 0 5mm; break-inside: avoid; } figure img { width: 100%; height: auto; }
figcaption { font-weight: bold; margin-bottom: 1mm; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 4mm; font-size: 9.5pt; break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 1.2mm 2mm; text-align: left; } th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: grid; grid-template-columns: 1fr 1fr; gap: 4mm; }
.card { border: 1.5px solid #0072B2; border-radius: 3mm; padding: 3mm 4mm; break-inside: avoid; }
.card h3 { margin-top: 0; } .card dl { display: grid; grid-template-columns: auto 1fr; gap: 0.5mm 3mm; margin: 0; }
.card dt { color: #555; } .card dd { margin: 0; font-weight: 600; }
.action { display: inline-block; border: 1.5px solid #1a1a1a; border-radius: 2mm; padding: 0 2mm; font-weight: bold; }
html[lang="en"] body { font-family: "Noto Sans", "DejaVu Sans", "Noto Sans CJK SC", sans-serif; }
.toc ol { font-size: 11pt; } .note { color: #555; font-size: 9pt; }
"""


KPI_DECIMALS = ("aov", "purchase_frequency", "nps")


def _day(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def _text(value) -> str:
    return "–" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


@dataclass
class Chart:
    chart_id: str
    title: str
    png: bytes


def _num(value, fmt="{:,.0f}", key=None) -> str:
    attr = f' data-key="{escape(key)}"' if key else ""
    text = "–" if value is None or (isinstance(value, float) and pd.isna(value)) else fmt.format(value)
    return f'<td class="num"{attr}>{text}</td>'


def _table(headers, rows) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure(chart: Chart) -> str:
    encoded = base64.b64encode(chart.png).decode("ascii")
    return (f'<figure id="chart-{chart.chart_id}" data-chart="{chart.chart_id}"><figcaption>{escape(chart.title)}'
            f'</figcaption><img alt="{escape(chart.title)}" src="data:image/png;base64,{encoded}"></figure>')


def _p(text: str) -> str:
    return f"<p>{escape(text)}</p>"


class ReportPage:
    def __init__(self, data: ReportData, charts: dict[str, Chart], actions: list[SegmentAction], lang: str,
                 generated_at: datetime, run_id: str):
        self.d, self.charts, self.lang = data, charts, lang
        self.actions = {a.segment_id: a for a in actions}
        self.generated_at, self.run_id = generated_at, run_id

    def t(self, key, **values):
        return t(key, self.lang, **values)

    def seg_name(self, row) -> str:
        return row["name_zh"] if self.lang == "zh" else row["name_en"]

    # sections -----------------------------------------------------------------
    def cover(self) -> str:
        first, last = self.d.scalar("period", "first_day"), self.d.scalar("period", "last_day")
        return (f'<section class="cover" id="cover"><h1>{escape(self.t("title"))}</h1>'
                f'<p>{escape(self.t("generated"))}: <span data-key="generated">{self.generated_at:%Y-%m-%d}</span></p>'
                f'<p>{escape(self.t("period"))}: <span data-key="period">{_day(first)} – {_day(last)}</span></p>'
                f'<p class="note">{escape(self.t("run"))}: {escape(self.run_id)}</p></section>')

    def chapters(self) -> list[tuple[str, str, str]]:
        """(id, title, body) of every chapter after the table of contents."""
        return [
            ("introduction", self.t("intro"), _p(self.t("intro_body"))),
            ("data-sources", self.t("sources"), self.sources()),
            ("results", self.t("results"), self.results()),
            ("personas", self.t("personas"), self.personas()),
            ("conclusions", self.t("conclusions"), self.conclusions()),
            ("appendix", self.t("appendix"), self.appendix()),
        ]

    def toc(self, chapters) -> str:
        items = "".join(f'<li><a href="#{cid}">{escape(title)}</a></li>' for cid, title, _ in chapters)
        return f'<section class="chapter toc" id="toc"><h2>{escape(self.t("toc"))}</h2><ol>{items}</ol></section>'

    def sources(self) -> str:
        sources = self.d["sources"]
        rejected = self.d["rejected"].set_index("source")["files"] if not self.d["rejected"].empty else pd.Series()
        loaded, quarantined = int(sources["rows_loaded"].sum()), int(sources["rows_quarantined"].sum())
        checks, passed = int(self.d.scalar("checks", "checks") or 0), int(self.d.scalar("checks", "passed") or 0)
        summary = self.t("quality_summary", loaded=loaded, files=int(sources["files"].sum()), quarantined=quarantined,
                         q_share=quarantined / max(loaded + quarantined, 1), rejected=int(rejected.sum()),
                         checks=checks, passed=passed)
        rows = [f"<tr><td>{escape(label(SOURCES, r.source, self.lang))}</td>{_num(r.files)}"
                f"{_num(r.rows_loaded, key=f'rows_loaded:{r.source}')}"
                f"{_num(r.rows_quarantined, key=f'rows_quarantined:{r.source}')}"
                f"{_num(int(rejected.get(r.source, 0)), key=f'rejected_files:{r.source}')}</tr>"
                for r in sources.itertuples()]
        return (_p(self.t("sources_body")) + f'<p data-key="quality_summary">{escape(summary)}</p>'
                + _table([self.t(k) for k in ("col_source", "col_files", "col_loaded", "col_quarantined",
                                              "col_rejected")], rows)
                + f'<p class="note">{escape(self.t("col_quarantined"))}: <span data-key="rows_quarantined">'
                  f'{quarantined}</span> · {escape(self.t("col_rejected"))}: <span data-key="rejected_files">'
                  f'{int(rejected.sum())}</span> · checks: <span data-key="checks_passed">{passed}</span>/'
                  f'<span data-key="checks_total">{checks}</span></p>')

    def _sub(self, sid, title_key, body) -> str:
        return f'<div class="subsection" id="{sid}"><h3>{escape(self.t(title_key))}</h3>{body}</div>'

    def results(self) -> str:
        c = self.charts
        seg = self.d["segments"]
        outcomes = self.d["segment_outcomes"].set_index("segment_id")
        prospects = int(outcomes["customers"].get(PROSPECT_SEGMENT, 0))
        seg_rows = [f"<tr><td>{escape(self.seg_name(r))}</td>{_num(r['n_customers'], key=f'segment_size:{sid}')}"
                    f"{_num(r['share'], '{:.1%}')}<td>{escape(str(r['top_categories']))}</td></tr>"
                    for sid, r in seg.set_index('segment_id').iterrows()]
        segments = (_p(self.t("segments_summary", buyers=int(seg["n_customers"].sum()), k=len(seg),
                                prospects=prospects))
                    + _table([self.t(k) for k in ("col_segment", "col_customers", "col_share", "col_top_categories")],
                             seg_rows)
                    + _figure(c["segment_sizes"]) + _figure(c["segment_profiles"]))
        life = self.d["lifecycle"].set_index("lifecycle_stage")["customers"]
        active = int(sum(life.get(s, 0) for s in ("new", "active", "reactivated")))
        lapsed = int(sum(life.get(s, 0) for s in ("dormant", "churned")))
        life_rows = [f"<tr><td>{escape(label(STAGES, s, self.lang))}</td>{_num(int(life.get(s, 0)), key=f'lifecycle:{s}')}</tr>"
                     for s in LIFECYCLE_STAGES]
        lifecycle = (_p(self.t("lifecycle_summary", date=_day(self.d.scalar("reference", "reference_date")), active=active,
                                 lapsed=lapsed))
                     + _table([self.t("to_stage"), self.t("customers")], life_rows)
                     + _figure(c["lifecycle_funnel"]) + _figure(c["lifecycle_transitions"]))
        churn = self.d["churn"]["churn_probability"].dropna()
        churn_text = self.t("churn_summary", n=len(churn), mean=churn.mean() if len(churn) else 0,
                            high=int((churn >= 0.5).sum()), threshold=0.5)
        clv = self.d["clv"]["clv"].dropna()
        clv_text = self.t("clv_summary", n=len(clv), total=clv.sum(), median=clv.median() if len(clv) else 0)
        nps = self.d["nps_overall"]
        nps_value = self.d.scalar("nps_overall", "nps")
        nps_text = (f'<p>{escape(self.t("nps_overall", nps=nps_value or 0.0, responses=int(nps["responses"].fillna(0).iloc[0])))}'
                    f' <span hidden data-key="nps_overall">{"" if nps_value is None else f"{nps_value:.1f}"}</span></p>')
        funnel = self.d["funnel"].iloc[0].fillna(0)
        funnel_text = self.t("funnel_summary", sessions=int(funnel["sessions"]), purchases=int(funnel["purchase_sessions"]),
                             rate=funnel["purchase_sessions"] / max(funnel["sessions"], 1))
        funnel_rows = [f"<tr><td>{escape(label(FUNNEL, s, self.lang))}</td>{_num(int(funnel[s]), key=f'funnel:{s}')}</tr>"
                       for s in FUNNEL_STEPS]
        return "".join([
            self._sub("segments", "sec_segments", segments),
            self._sub("rfm", "sec_rfm", _figure(c["rfm_grid"])),
            self._sub("lifecycle", "sec_lifecycle", lifecycle),
            self._sub("cohorts", "sec_cohorts", _figure(c["cohort_retention"])),
            self._sub("churn", "sec_churn", _p(churn_text) + _figure(c["churn_distribution"]) + _figure(c["churn_drivers"])),
            self._sub("clv", "sec_clv", _p(clv_text) + _figure(c["clv_distribution"]) + _figure(c["clv_holdout"])),
            self._sub("nps", "sec_nps", nps_text + _figure(c["nps_trend"]) + _figure(c["nps_by_segment"])),
            self._sub("funnel", "sec_funnel", _p(funnel_text) + _table([self.t("col_kpi"), self.t("sessions_label")],
                                                                         funnel_rows) + _figure(c["conversion_funnel"])),
            self._sub("ab-tests", "sec_ab", self.experiments() + _figure(c["ab_results"])),
            self._sub("kpis", "sec_kpi", self.kpis() + _figure(c["kpi_vs_target"])),
        ])

    def experiments(self) -> str:
        rows = []
        for r in self.d["experiments"].itertuples():
            ci = ("–" if pd.isna(r.absolute_lift) else
                  f"{100 * r.absolute_lift:+.1f} pp [{100 * r.lift_ci95_lower:+.1f}, {100 * r.lift_ci95_upper:+.1f}]")
            srm = f" ⚠ {self.t('srm')}" if r.has_sample_ratio_mismatch is True else ""
            rows.append(f"<tr><td>{escape(f'{r.campaign_id} / {r.variant}')}{escape(srm)}</td>{_num(r.exposed)}"
                        f"{_num(r.conversion_rate, '{:.1%}', key=f'conversion:{r.campaign_id}:{r.variant}')}"
                        f'<td class="num">{escape(ci)}</td>{_num(r.p_value, "{:.3f}")}</tr>')
        return _table([self.t(k) for k in ("col_campaign", "col_exposed", "col_conversion", "col_lift_ci", "col_p")],
                      rows)

    def kpis(self) -> str:
        kpis = self.d["kpis"]
        if kpis.empty:
            return _p(self.t("no_data"))
        month = f"{pd.Timestamp(kpis['month_start'].iloc[0]):%Y-%m}"
        rows = []
        for r in kpis.itertuples():
            fmt = "{:.1%}" if r.kpi_name.endswith("_rate") else "{:,.2f}" if r.kpi_name in KPI_DECIMALS else "{:,.0f}"
            status = "" if pd.isna(r.is_on_target) else self.t("on_target" if r.is_on_target else "off_target")
            rows.append(f"<tr><td>{escape(label(KPIS, r.kpi_name, self.lang))}</td>"
                        f"{_num(r.kpi_value, fmt, key=f'kpi:{r.kpi_name}')}{_num(r.target_value, fmt)}"
                        f"<td>{escape(status)}</td></tr>")
        return (f'<p data-key="kpi_month">{escape(self.t("kpi_month", month=month))}</p>'
                + _table([self.t(k) for k in ("col_kpi", "col_value", "col_target", "col_status")], rows))

    def _segment_rows(self):
        profiles = self.d["segments"].set_index("segment_id")
        for sid, o in self.d["segment_outcomes"].set_index("segment_id").iterrows():
            if sid in profiles.index:
                name = self.seg_name(profiles.loc[sid])
            else:
                name = "潜在客户（尚未购买）" if self.lang == "zh" else "Prospects (no purchase yet)"
            yield sid, name, o, profiles.loc[sid] if sid in profiles.index else None

    def personas(self) -> str:
        cards = []
        for sid, name, o, p in self._segment_rows():
            action = self.actions[sid].action
            items = [("p_size", f"{int(o['customers']):,}"),
                     ("p_stage", label(STAGES, o["typical_stage"], self.lang)),
                     ("p_category", _text(o["favourite_category"])), ("p_channel", _text(o["favourite_channel"])),
                     ("p_age", _text(o["age_band"]))]
            if p is not None:
                items += [("p_orders", f"{p['mean_orders_per_month']:.2f}"), ("p_aov", f"{p['mean_avg_order_value']:,.0f}"),
                          ("p_discount", f"{p['mean_discount_share']:.1%}")]
            items += [("p_churn", "–" if pd.isna(o["mean_churn_probability"]) else f"{o['mean_churn_probability']:.1%}"),
                      ("p_clv", "–" if pd.isna(o["mean_clv"]) else f"{o['mean_clv']:,.0f}"),
                      ("p_lapsed", f"{o['lapsed_share']:.0%}"), ("p_consent", f"{o['consent_share']:.0%}")]
            dl = "".join(f"<dt>{escape(self.t(k))}</dt><dd>{escape(str(v))}</dd>" for k, v in items)
            cards.append(f'<div class="card" data-segment="{sid}"><h3>{escape(name)}</h3><dl>{dl}</dl>'
                         f'<p>{escape(self.t("p_action"))}: <span class="action" data-key="action:{sid}">'
                         f'{escape(ACTION_NAMES[action][self.lang])}</span></p></div>')
        return f'<div class="cards">{"".join(cards)}</div>'

    def conclusions(self) -> str:
        rules = "".join(f"<li>{escape(RULES[a][self.lang])}</li>" for a in ACTIONS)
        rows = [f"<tr><td>{escape(name)}</td><td><b>{escape(ACTION_NAMES[self.actions[sid].action][self.lang])}</b></td>"
                f"<td>{escape(self.actions[sid].reason[self.lang])}</td></tr>"
                for sid, name, _, _ in self._segment_rows()]
        return (_p(self.t("rules_intro")) + f"<ol>{rules}</ol>"
                + _table([self.t("col_segment"), self.t("col_action"), self.t("col_why")], rows))

    def appendix(self) -> str:
        glossary = "".join(f"<dt><b>{escape(term[self.lang])}</b></dt><dd>{escape(text[self.lang])}</dd>"
                           for term, text in GLOSSARY)
        marts = "".join(f"<dt><code>marts.{escape(model)}</code></dt><dd>{escape(text)}</dd>"
                        for model, text in mart_definitions())
        return (f"<h3>{escape(self.t('glossary'))}</h3><dl>{glossary}</dl>"
                f'<p class="note">{escape(self.t("appendix_note"))}</p><dl id="mart-definitions">{marts}</dl>')

    def render(self) -> str:
        chapters = self.chapters()
        body = self.cover() + self.toc(chapters) + "".join(
            f'<section class="chapter" id="{cid}"><h2>{escape(title)}</h2>{content}</section>'
            for cid, title, content in chapters)
        lang_attr = "zh-CN" if self.lang == "zh" else "en"
        return (f'<!DOCTYPE html><html lang="{lang_attr}"><head><meta charset="utf-8">'
                f'<title>{escape(self.t("title"))}</title><style>{CSS}</style></head><body>{body}</body></html>')
