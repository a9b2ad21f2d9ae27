"""The appendix's definitions, read from the dbt model YAML so they never drift from the models."""

from __future__ import annotations

from pathlib import Path

import yaml

DBT_MARTS_DIR = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "marts"
# The marts the report reads, in the order the report shows them.
REPORTED_MARTS = ("customer_rfm", "customer_lifecycle", "customer_lifecycle_transitions", "cohort_retention",
                  "nps_summary", "fct_conversion_funnel", "experiment_results", "kpi_monthly", "customer_360")


def _first_paragraph(text: str) -> str:
    paragraph = text.strip().split("\n\n")[0]
    # dbt doc blocks ({{ doc(...) }}) are resolved by dbt docs, not here.
    return " ".join(line.strip() for line in paragraph.splitlines() if "{{" not in line)


def mart_definitions(marts_dir: Path = DBT_MARTS_DIR, models=REPORTED_MARTS) -> list[tuple[str, str]]:
    """(model, description's first paragraph) for each reported mart that has a YAML file."""
    out = []
    for model in models:
        path = marts_dir / f"{model}.yml"
        if not path.exists():
            continue
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            if entry.get("name") == model and entry.get("description"):
                out.append((model, _first_paragraph(entry["description"])))
    return out
