"""The one place that reads direct identifiers (e-mail, names) and marketing consent.

A later privacy change moves e-mail out of the marts into a restricted area keyed by
a pseudonymous id; only this function has to follow it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

CONTACT_SQL = """
select customer_id, email, first_name, last_name, marketing_consent
from marts.dim_customers
"""


def contact_details(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """customer_id, email, first_name, last_name, marketing_consent: the current CRM version of each customer."""
    return con.execute(CONTACT_SQL).df()
