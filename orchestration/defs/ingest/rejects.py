"""Files that cannot be loaded: moved aside (never deleted), recorded, and handled per source.

The rule per source, for a rejected file other than a duplicate delivery:
- ``fail``: the source's good files still load, then the ingest step fails, so nothing
  downstream is built from a delivery with a hole in it. For master data and
  business records, where one missing file changes the numbers.
- ``continue``: the good files load and the run goes on; the rejected file shows in
  the asset's metadata and in ``quality.rejected_files``. For high-volume event streams,
  where a late file is better than no dashboard.
A duplicate delivery (same bytes as a file already loaded) is moved aside and the
run always continues: nothing is lost.
To retry a rejected file, fix it and put it back into its landing folder.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .file_checks import FileProblem
from .files import LandedFile

FAIL_RUN = "fail"
CONTINUE = "continue"
RULES = {
    "customers": FAIL_RUN,
    "products": FAIL_RUN,
    "orders": FAIL_RUN,
    "order_items": FAIL_RUN,
    "support_tickets": FAIL_RUN,
    "survey_responses": FAIL_RUN,
    "privacy_requests": FAIL_RUN,  # a lost erasure request is a compliance breach
    "web_events": CONTINUE,
    "campaign_events": CONTINUE,
    "social_mentions": CONTINUE,
}

DDL = """
create table if not exists quality.rejected_files (
    source varchar not null,
    source_file varchar not null,       -- where it was delivered, relative to the landing root
    moved_to varchar not null,          -- where it is now
    delivery_date varchar not null,
    file_bytes bigint not null,
    file_sha256 varchar,
    kind varchar not null,              -- empty | encoding | delimiter | schema_drift | truncated | duplicate
    problem varchar not null,
    fix varchar not null,
    rule varchar not null,              -- fail | continue
    batch_id varchar not null,
    rejected_at timestamp not null
)
"""


@dataclass(frozen=True)
class RejectedFile:
    source_file: str
    moved_to: str
    kind: str
    problem: str
    fix: str
    rule: str


def rule_for(source: str, problem: FileProblem) -> str:
    return CONTINUE if problem.kind == "duplicate" else RULES.get(source, FAIL_RUN)


def _destination(rejected_dir: Path, landed: LandedFile) -> Path:
    target = rejected_dir / landed.relative_path
    if target.exists():  # a second bad delivery under the same name keeps the first one too
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        target = target.with_name(f"{target.stem}.{stamp}{target.suffix}")
    return target


def reject(con, source: str, landed: LandedFile, problem: FileProblem, rejected_dir: Path, batch_id: str,
           sha256: str | None = None) -> RejectedFile:
    con.execute(DDL)
    target = _destination(rejected_dir, landed)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(landed.path), str(target))
    rule = rule_for(source, problem)
    con.execute(
        "insert into quality.rejected_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [source, landed.relative_path, str(target), landed.delivery_date, landed.size_bytes, sha256, problem.kind,
         problem.problem, problem.fix, rule, batch_id, datetime.now(timezone.utc).replace(tzinfo=None)],
    )
    return RejectedFile(landed.relative_path, str(target), problem.kind, problem.problem, problem.fix, rule)
