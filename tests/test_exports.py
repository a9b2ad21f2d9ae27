"""Audience exports from the demo build, checked as a marketer's import tool and a privacy reviewer would."""

from __future__ import annotations

import csv
import hashlib
import json

import pytest

EXPECTED = {"churn_risk", "win_back", "upsell"}


def _rows(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def exports(built_warehouse):
    folder = built_warehouse.data_dir / "exports"
    manifests = {json.loads(p.read_text(encoding="utf-8"))["export"]: json.loads(p.read_text(encoding="utf-8"))
                 for p in folder.glob("*.manifest.json")}
    return folder, manifests


def test_every_audience_and_segment_is_exported(built_warehouse, exports):
    _, manifests = exports
    segments = built_warehouse.query("select count(distinct segment_id) from ml.customer_segments")[0][0]
    assert EXPECTED <= set(manifests)
    assert len([m for m in manifests if m.startswith("segment_")]) == segments
    assert sum(m["row_count"] for m in manifests.values()) > 0


def test_only_customers_with_current_consent(built_warehouse, exports):
    folder, manifests = exports
    consent = dict(built_warehouse.query("select customer_key, marketing_consent from marts.customer_consent_history "
                                         "where is_current"))
    assert False in consent.values(), "the demo has customers who withdrew or never gave consent"
    for name, manifest in manifests.items():
        for row in _rows(folder / manifest["files"]["csv"]):
            assert consent[row["Customer Key"]] is True, f"{name}: {row['Customer Key']} has no consent"


def test_exports_carry_the_pseudonymous_key_and_no_contact_details(built_warehouse, exports):
    folder, manifests = exports
    keys = {k for (k,) in built_warehouse.query("select customer_key from marts.dim_customers")}
    for manifest in manifests.values():
        rows = _rows(folder / manifest["files"]["csv"])
        assert rows and not {"Email Address", "First Name", "Last Name", "Phone"} & set(rows[0])
        assert {r["Customer Key"] for r in rows} <= keys


def test_manifest_counts_equal_file_rows_and_carry_the_run(exports):
    folder, manifests = exports
    for manifest in manifests.values():
        assert manifest["row_count"] == len(_rows(folder / manifest["files"]["csv"]))
        assert manifest["hashed_row_count"] == len(_rows(folder / manifest["files"]["hashed"]))
        assert manifest["definition"] and manifest["run_id"] and manifest["generated_at"]
        assert manifest["candidates_before_consent"] >= manifest["row_count"]


def test_hashed_file_is_sha256_of_the_consenting_members_normalised_emails(built_warehouse, exports):
    folder, manifests = exports
    # restricted staging holds the addresses; the test hashes them the way ad platforms expect
    emails = dict(built_warehouse.query("select customer_key, email from staging.stg_crm__customers "
                                        "where email is not null"))
    for manifest in manifests.values():
        members = {r["Customer Key"] for r in _rows(folder / manifest["files"]["csv"])}
        hashed = {r["Email"] for r in _rows(folder / manifest["files"]["hashed"])}
        assert hashed == {hashlib.sha256(emails[k].strip().lower().encode()).hexdigest() for k in members if k in emails}
        assert all(len(h) == 64 and h == h.lower() for h in hashed)


def test_marketing_tool_columns_and_rules(built_warehouse, exports):
    folder, manifests = exports
    upsell = _rows(folder / manifests["upsell"]["files"]["csv"])
    assert list(upsell[0])[:2] == ["Customer Key", "Tags"]
    assert all(r["Recommended Products"] for r in upsell)
    stages = dict(built_warehouse.query("select customer_key, lifecycle_stage from marts.customer_lifecycle"))
    assert {stages[r["Customer Key"]] for r in _rows(folder / manifests["win_back"]["files"]["csv"])} <= \
        {"dormant", "churned"}
    rules = manifests["churn_risk"]["rules"]
    # the default threshold is resolved from the data (the scored customers' mean) and recorded as a number
    mean = built_warehouse.query("select avg(churn_probability) from marts.customer_360")[0][0]
    assert rules["churn_min_probability"] == pytest.approx(mean, abs=1e-4)
    still_buying = built_warehouse.query("select count(*) from marts.customer_360 where churn_probability is not null "
                                         "and lifecycle_stage in ('new', 'active', 'reactivated')")[0][0]
    candidates = manifests["churn_risk"]["candidates_before_consent"]
    # a list marketing can use: not empty, never more than the riskiest share
    assert 0 < candidates <= -(-still_buying * rules["churn_top_share"] // 1)
    assert all(float(r["Churn Probability"]) >= rules["churn_min_probability"]
               for r in _rows(folder / manifests["churn_risk"]["files"]["csv"]))
