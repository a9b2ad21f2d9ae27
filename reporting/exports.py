"""Audience files a marketing tool imports, a hashed file for ad platforms, and a manifest each.

Only customers whose current CRM record gives marketing consent are written. No file holds a
direct identifier: the CSV is keyed by the pseudonymous ``Customer Key``, which the CRM sync
stores as a unique contact property in the marketing tool (HubSpot: a unique-value property;
Mailchimp: an audience merge field), so an import updates those contacts' tags and fields;
the hashed file is SHA-256 of the trimmed, lower-cased e-mail, the normalisation Google
Customer Match and Meta custom audiences expect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from .audiences import Audience, AudienceRules, all_audiences, resolve_rules
from .contacts import contact_details

INDEX_FILE = "index.json"
KEY_COLUMN = "Customer Key"
EXTRA_COLUMNS = {
    "segment_name_en": "Segment", "lifecycle_stage": "Lifecycle Stage",
    "rfm_segment": "RFM Segment", "churn_probability": "Churn Probability", "clv": "Predicted CLV",
    "recommended_products": "Recommended Products",
}
HASHED_HEADER = "Email"  # Google's Customer Match template header; Meta maps it as the e-mail key
CONSENT_RULE = ("marketing_consent = true on the customer's current CRM record (marts.customer_consent_history, "
                "is_current); everyone else is left out. The hashed file also needs an e-mail address")


@dataclass
class ExportResult:
    name: str
    csv: Path
    hashed: Path
    manifest: Path
    rows: int
    candidates: int


def _consenting(members: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    # consent is a non-null boolean (coalesced in SQL); `== True` keeps pandas' nullable types honest
    allowed = contacts[contacts["marketing_consent"].eq(True)]
    return members.merge(allowed, on="customer_key", how="inner")


def _csv_frame(rows: pd.DataFrame, tags: str) -> pd.DataFrame:
    frame = pd.DataFrame({KEY_COLUMN: rows["customer_key"]})
    # A comma-separated Tags column (Mailchimp's and HubSpot's import name); the segment is a second tag.
    frame["Tags"] = [f"{tags},segment:{seg}" if not tags.startswith("segment:") else tags
                     for seg in rows["segment_name_en"].fillna("none")]
    for col, label in EXTRA_COLUMNS.items():
        if col in rows.columns:
            frame[label] = rows[col]
    return frame


def _write(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False, encoding="utf-8")
    tmp.replace(path)


def _remove_previous(out_dir: Path) -> None:
    """Files of the last export that this run may not write again (e.g. a segment that disappeared)."""
    index = out_dir / INDEX_FILE
    if not index.exists():
        return
    for name in json.loads(index.read_text(encoding="utf-8")).get("files", []):
        (out_dir / Path(name).name).unlink(missing_ok=True)


def write_audience(audience: Audience, contacts: pd.DataFrame, out_dir: Path, run_id: str, generated_at: str,
                   rules: AudienceRules) -> ExportResult:
    rows = _consenting(audience.members, contacts)
    csv_path, hashed_path = out_dir / f"{audience.name}.csv", out_dir / f"{audience.name}_hashed.csv"
    frame = _csv_frame(rows, audience.tags)
    _write(csv_path, frame)
    hashes = sorted(set(rows["email_sha256"].dropna()))
    _write(hashed_path, pd.DataFrame({HASHED_HEADER: hashes}))
    manifest = {
        "export": audience.name, "definition": audience.definition, "consent_rule": CONSENT_RULE,
        "row_count": len(frame), "hashed_row_count": len(hashes), "candidates_before_consent": len(audience.members),
        "files": {"csv": csv_path.name, "hashed": hashed_path.name},
        "columns": list(frame.columns), "hashing": "sha256 of the e-mail address trimmed and lower-cased, hex",
        "rules": {"churn_min_probability": rules.churn_min_probability, "churn_top_share": rules.churn_top_share,
                  "churn_top_n": rules.churn_top_n, "upsell_products": rules.upsell_products},
        "generated_at": generated_at, "run_id": run_id,
    }
    manifest_path = out_dir / f"{audience.name}.manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return ExportResult(audience.name, csv_path, hashed_path, manifest_path, len(frame), len(audience.members))


def write_exports(con: duckdb.DuckDBPyConnection, out_dir: Path, run_id: str,
                  rules: AudienceRules = AudienceRules()) -> list[ExportResult]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rules = resolve_rules(con, rules)  # the manifests record the threshold the lists were cut at
    audiences = all_audiences(con, rules)
    contacts = contact_details(con)
    generated_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    _remove_previous(out_dir)
    results = [write_audience(a, contacts, out_dir, run_id, generated_at, rules) for a in audiences]
    files = [p.name for r in results for p in (r.csv, r.hashed, r.manifest)]
    (out_dir / INDEX_FILE).write_text(json.dumps({"run_id": run_id, "generated_at": generated_at, "files": files,
                                                  "exports": {r.name: r.rows for r in results}}, indent=2) + "\n",
                                      encoding="utf-8")
    return results
