"""Run parameters, the time window and the planted dirt rates in one place.

Everything that decides *how much* of something is generated lives here so
that truth.json can record it verbatim and tests can compare against it.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np

DAY = 86_400
HOUR = 3_600
YEAR_DAYS = 365.25

# Null sentinel for the int64 columns (timestamps, integers, cents, dates, booleans):
# numpy has no nullable ints and pandas would cost us memory at 50M rows.
NULL = np.iinfo(np.int64).min

# Rates of the planted dirt. A change here changes truth.json and the tests' tolerances.
DIRT_RATES = {
    "duplicate": {"orders": 0.007, "web_events": 0.007, "support_tickets": 0.008},
    "late": {"orders": 0.02, "web_events": 0.02},
    "customer_update": 0.05,
    "malformed": 0.002,
    # Customers write their e-mail into tickets ("please reply to ..."): staging must redact it.
    "contact_in_text": {"support_tickets": 0.03},
    "missing": {
        "customers": {
            "email": 0.03,
            "phone": 0.08,
            "first_name": 0.01,
            "last_name": 0.01,
            "gender": 0.10,
            "birth_date": 0.15,
            "city": 0.02,
            "region": 0.04,
            "country": 0.01,
            "acquisition_channel": 0.05,
        },
        "web_events": {"device": 0.02},
        "support_tickets": {"satisfaction": 0.25, "description": 0.05},
        "survey_responses": {"comment": 0.30},
    },
}


@dataclass(frozen=True)
class Params:
    customers: int = 10_000
    days: int = 365
    end_date: date = date(2026, 10, 31)
    seed: int = 42
    chunk_size: int = 50_000

    @property
    def n_chunks(self) -> int:
        return max(1, -(-self.customers // self.chunk_size))

    def chunk_bounds(self, chunk: int) -> tuple[int, int]:
        lo = chunk * self.chunk_size
        return lo, min(self.customers, lo + self.chunk_size)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["end_date"] = self.end_date.isoformat()
        d["start_date"] = self.window.start_date.isoformat()
        return d

    @property
    def window(self) -> "Window":
        return Window(self.end_date, self.days)


@dataclass(frozen=True)
class Window:
    """The `days` days ending at `end_date` inclusive, as epoch seconds and day numbers."""

    end_date: date
    days: int

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)

    @property
    def start(self) -> int:
        return int(datetime.combine(self.start_date, datetime.min.time(), timezone.utc).timestamp())

    @property
    def end(self) -> int:
        """First second after the window."""
        return self.start + self.days * DAY

    @property
    def first_day(self) -> int:
        return self.start // DAY

    @property
    def last_day(self) -> int:
        return self.first_day + self.days - 1

    def day_of(self, ts: np.ndarray) -> np.ndarray:
        return (ts // DAY).astype(np.int64)

    def clamp_day(self, day: np.ndarray) -> np.ndarray:
        return np.clip(day, self.first_day, self.last_day)


def rng_for(seed: int, stage: str, chunk: int = 0) -> np.random.Generator:
    """A generator that depends only on (seed, stage, chunk).

    crc32 rather than hash(): str hashes are randomised per process, and the
    files must be byte-identical across runs.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(stage.encode()), chunk]))
