"""The one place exports touch the restricted CRM: current consent and the hashed e-mail.

Audience files carry the pseudonymous ``customer_key`` (the CRM sync gives every contact in the
marketing tool the same key, which an import then matches on) and, for ad platforms, SHA-256 of
the e-mail: the format Google Customer Match and Meta custom audiences require. The plain
address is hashed inside this query and never reaches Python, a file or a log.
"""

from __future__ import annotations

import duckdb
import pandas as pd

CONTACT_SQL = """
select customers.customer_key,
       coalesce(customers.marketing_consent, false) as marketing_consent,
       case when customers.email is not null then sha256(lower(trim(customers.email))) end as email_sha256
from staging.stg_crm__customers as customers
where customers.customer_key is not null
"""


def contact_details(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """customer_key, marketing_consent (the current CRM version) and email_sha256 (null without an e-mail)."""
    return con.execute(CONTACT_SQL).df()
