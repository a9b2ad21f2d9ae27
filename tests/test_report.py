"""The customer-profile report as a reader gets it from the demo build: both languages, every section
and chart there, PDF pages not blank, and the figures equal to the marts they come from."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib.image as mpimg
import numpy as np
import pytest

from reporting.charts import CHARTS

LANGS = ("zh", "en")
SECTIONS = ("cover", "toc", "introduction", "data-sources", "results", "segments", "rfm", "lifecycle", "cohorts",
            "churn", "clv", "nps", "funnel", "ab-tests", "kpis", "personas", "conclusions", "appendix")


class _Page(HTMLParser):
    """Collects element ids, charts (id -> PNG bytes) and data-key texts."""

    def __init__(self):
        super().__init__()
        self.ids, self.charts, self.keys, self._key, self._chart = set(), {}, {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if "data-chart" in a:
            self._chart = a["data-chart"]
        if tag == "img" and self._chart and a.get("src", "").startswith("data:image/png;base64,"):
            self.charts[self._chart] = base64.b64decode(a["src"].split(",", 1)[1])
        if "data-key" in a:
            self._key = a["data-key"]
            self.keys[self._key] = ""

    def handle_data(self, data):
        if self._key:
            self.keys[self._key] += data

    def handle_endtag(self, tag):
        self._key = None
        if tag == "figure":
            self._chart = None


@pytest.fixture(scope="module")
def pages(built_warehouse):
    out = {}
    for lang in LANGS:
        page = _Page()
        page.feed((built_warehouse.data_dir / "reports" / f"customer_profile_{lang}.html").read_text(encoding="utf-8"))
        out[lang] = page
    return out


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


def _rounding(text: str) -> float:
    """Half a unit of the last digit shown: the most a correctly rounded figure can be off by."""
    decimals = len(text.split(".")[1].rstrip("%")) if "." in text else 0
    return 0.5 * 10 ** -decimals + 1e-9


@pytest.mark.parametrize("lang", LANGS)
def test_every_section_and_chart_is_there_and_drawn(pages, lang):
    page = pages[lang]
    assert set(SECTIONS) <= page.ids, f"missing sections: {set(SECTIONS) - page.ids}"
    assert set(page.charts) == set(CHARTS)
    for chart_id, png in page.charts.items():
        pixels = mpimg.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 150 and pixels.shape[1] > 300, chart_id
        assert pixels[..., :3].std() > 0.05, f"chart {chart_id} ({lang}) is blank"


def test_chinese_report_is_in_chinese(built_warehouse):
    zh = (built_warehouse.data_dir / "reports" / "customer_profile_zh.html").read_text(encoding="utf-8")
    en = (built_warehouse.data_dir / "reports" / "customer_profile_en.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in zh and "客户画像运营报告" in zh and "目录" in zh
    assert '<html lang="en">' in en and "Customer Profile Operations Report" in en


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is installed by .ci/run")
@pytest.mark.parametrize("lang", LANGS)
def test_pdf_pages_are_not_blank(built_warehouse, tmp_path, lang):
    pdf = built_warehouse.data_dir / "reports" / f"customer_profile_{lang}.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) >= 8, f"only {len(pngs)} pages"
    for png in pngs:
        assert mpimg.imread(png)[..., :3].std() > 0.01, f"{png.name} of {pdf.name} is blank"


def test_pdf_carries_the_chinese_text(built_warehouse):
    """Chromium embeds the CJK glyphs as unnamed Type 3 fonts, so check the text that comes back out."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is installed by .ci/run")
    text = subprocess.run(["pdftotext", str(built_warehouse.data_dir / "reports" / "customer_profile_zh.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "客户画像运营报告" in text and "结论与建议行动" in text


def test_figures_equal_the_marts(built_warehouse, pages):
    q = built_warehouse.query
    for lang in LANGS:
        keys = pages[lang].keys
        for segment_id, n in q("select segment_id, n_customers from ml.segment_profiles"):
            assert _number(keys[f"segment_size:{segment_id}"]) == n
        for stage, n in q("select lifecycle_stage, count(*) from marts.customer_lifecycle group by 1"):
            assert _number(keys[f"lifecycle:{stage}"]) == n
        (nps,) = q("select 100.0 * (sum(promoters) - sum(detractors)) / sum(responses) from marts.nps_summary "
                   "where breakdown = 'overall'")[0]
        assert _number(keys["nps_overall"]) == pytest.approx(nps, abs=0.05)
        kpis = q("select kpi_name, kpi_value from marts.kpi_monthly where month_start = "
                 "(select max(month_start) from marts.kpi_monthly where not is_partial_month)")
        assert kpis
        for name, value in kpis:
            if value is None:
                continue
            shown = keys[f"kpi:{name}"]
            expected = 100 * value if shown.endswith("%") else value
            assert _number(shown) == pytest.approx(expected, abs=_rounding(shown)), name
        for source, loaded, quarantined in q("select source, sum(rows_loaded), sum(rows_quarantined) "
                                             "from quality.ingest_files group by 1"):
            assert _number(keys[f"rows_loaded:{source}"]) == loaded
            assert _number(keys[f"rows_quarantined:{source}"]) == quarantined
        (rejected,) = q("select count(*) from quality.rejected_files")[0]
        assert _number(keys["rejected_files"]) == rejected
        (sessions, purchases) = q("select sum(sessions), sum(purchase_sessions) from marts.fct_conversion_funnel")[0]
        assert _number(keys["funnel:sessions"]) == sessions
        assert _number(keys["funnel:purchase_sessions"]) == purchases


def test_every_segment_gets_one_of_the_four_actions(built_warehouse, pages):
    segments = [s for (s,) in built_warehouse.query("select distinct segment_id from ml.customer_segments")]
    names = {"en": {"Retain", "Win back", "Upsell", "Nurture"}, "zh": {"保留", "挽回", "追加销售", "培育"}}
    for lang in LANGS:
        for segment_id in segments:
            assert pages[lang].keys[f"action:{segment_id}"] in names[lang]



def test_a_temp_folder_too_deep_for_chromium_gets_an_actionable_error(tmp_path, monkeypatch):
    import tempfile

    from reporting.pdf import PdfError, html_to_pdf

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    page = tmp_path / "page.html"
    page.write_text("<html><body>hello</body></html>", encoding="utf-8")
    with pytest.raises(PdfError, match="point TMPDIR at a shorter folder"):
        html_to_pdf(page, tmp_path / "page.pdf")
