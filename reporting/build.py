"""Render the report in every language: HTML, then PDF, into one folder."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import actions, fonts
from .charts import CHARTS, render_chart
from .data import ReportData
from .html import Chart, ReportPage
from .i18n import LANGUAGES, t
from .pdf import html_to_pdf, page_count

REPORT_STEM = "customer_profile"


@dataclass
class RenderedReport:
    lang: str
    html: Path
    pdf: Path
    html_bytes: int
    pdf_bytes: int
    pages: int
    charts: int


@dataclass
class ReportBuild:
    reports: list[RenderedReport] = field(default_factory=list)
    seconds: float = 0.0


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def build_reports(data: ReportData, out_dir: Path, run_id: str, languages=LANGUAGES,
                  make_pdf: bool = True) -> ReportBuild:
    started = time.perf_counter()
    fonts.configure_matplotlib()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    decided = actions.decide(data["segment_outcomes"])
    generated_at = datetime.now(timezone.utc)
    month = data.scalar("transitions_month", "month")
    build = ReportBuild()
    for lang in languages:
        charts = {}
        for chart_id, (title_key, _) in CHARTS.items():
            title = t(title_key, lang, month=f"{month:%Y-%m}" if month is not None else "–") \
                if title_key == "ch_transitions" else t(title_key, lang)
            charts[chart_id] = Chart(chart_id, title, render_chart(chart_id, data, lang))
        html_file = out_dir / f"{REPORT_STEM}_{lang}.html"
        pdf_file = out_dir / f"{REPORT_STEM}_{lang}.pdf"
        _write_atomically(html_file, ReportPage(data, charts, decided, lang, generated_at, run_id).render())
        if make_pdf:
            html_to_pdf(html_file, pdf_file)
        build.reports.append(RenderedReport(
            lang, html_file, pdf_file, html_file.stat().st_size,
            pdf_file.stat().st_size if make_pdf else 0, page_count(pdf_file) if make_pdf else 0, len(charts)))
    build.seconds = time.perf_counter() - started
    return build
