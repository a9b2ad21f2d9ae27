from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    raw = pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_key", "date", "cds", "amount"],
        dtype={"date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_key", "date", "amount"]]


@pytest.fixture(scope="session")
def cdnow_reference_summary() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
