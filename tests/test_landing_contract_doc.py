"""The landing contract document is generated from the code and must not drift from it."""

from pathlib import Path

from landing.contract import render_markdown


def test_landing_contract_doc_is_current():
    doc = Path(__file__).resolve().parent.parent / "docs" / "landing_contract.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(), (
        "docs/landing_contract.md is stale: run `.venv/bin/python -m landing.contract > docs/landing_contract.md`")
