"""Is there a daily incremental path yet? Read off the dbt manifest, never assumed.

The comparison runs only when some dbt model is materialized incrementally; until then
the harness reports why it did not run.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR


def incremental_models(manifest: Path = DBT_PROJECT_DIR / "target" / "manifest.json") -> list[str]:
    if not manifest.exists():
        return []
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return sorted(n["name"] for n in nodes
                  if n.get("resource_type") == "model" and n.get("config", {}).get("materialized") == "incremental")
