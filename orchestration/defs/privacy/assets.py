"""Privacy assets: the pseudonym map every staging model joins (and, before it, erasure and retention).

They sit between ingest and dbt: a person erased in this run is gone from raw before any
model reads it, and only customers with a key reach staging's outputs.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.secret_keys import pseudonym_key
from orchestration.settings import Settings

from .pseudonyms import ID_SOURCES, MAP_TABLE, refresh_pseudonyms

PRIVACY_GROUP = "privacy"
PSEUDONYMS_KEY = dg.AssetKey(["staging", "customer_pseudonyms"])


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


class PseudonymConfig(dg.Config):
    # Re-key every customer with a new WAREHOUSE_PSEUDONYM_KEY (run with --full-refresh, so
    # incremental tables do not keep old keys). Without it a changed key stops the run.
    rotate_key: bool = False


@dg.asset(
    key=PSEUDONYMS_KEY,
    deps=[raw_key(s) for s in ID_SOURCES],
    group_name=PRIVACY_GROUP,
    kinds={"duckdb", "python"},
    owners=["team:data-engineering"],
    pool="duckdb_writer",
    description=(
        "Restricted map from CRM customer id to the pseudonymous `customer_key` (HMAC-SHA256 under the secret "
        "`WAREHOUSE_PSEUDONYM_KEY`, first 32 hex digits). Every staging model joins it and passes on only the key, "
        "so marts, model outputs, the serving file, the report and the exports never carry the CRM id. Erased "
        "customers never get a key again."
    ),
    metadata={"dagster/table_name": MAP_TABLE},
)
def customer_pseudonyms(context: dg.AssetExecutionContext, config: PseudonymConfig,
                        warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = Settings.from_env()
    key = pseudonym_key(settings.data_dir)
    with warehouse.get_connection() as con:
        refresh = refresh_pseudonyms(con, key, rotate=config.rotate_key)
    if refresh.rotated:
        context.log.warning("pseudonym key rotated: every customer_key changed")
    context.log.info(f"{refresh.new_keys} new customer key(s); {refresh.total_keys} in all (key from {key.source})")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": refresh.total_keys,
        "new_keys": refresh.new_keys,
        # a fingerprint says which key was used without revealing it
        "key_fingerprint": refresh.key_fingerprint,
        "key_source": key.source,
        "rotated": refresh.rotated,
    })


privacy_assets = [customer_pseudonyms]
