"""Named scales. Orders and events grow with customers (about 10 orders and 76 web events per
customer-year in the demo data), so one knob sets the data size."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    customers: int
    days: int = 365


SCALES = {
    "S": Scale("S", 10_000),
    "M": Scale("M", 100_000),
    "L": Scale("L", 1_000_000),
    "XL": Scale("XL", 10_000_000),
}


def parse_scale(text: str) -> Scale:
    """A named scale, or ad hoc ``<customers>x<days>`` (the smoke test's ``200x30``)."""
    if text.upper() in SCALES:
        return SCALES[text.upper()]
    customers, _, days = text.lower().partition("x")
    if not customers.isdigit() or not days.isdigit():
        raise ValueError(f"unknown scale {text!r}: use one of {', '.join(SCALES)} or <customers>x<days>, e.g. 200x30")
    return Scale(text.lower(), int(customers), int(days))
