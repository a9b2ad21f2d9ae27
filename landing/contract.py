"""The landing contract: what every source delivers into ``data/landing``.

This module is the single source of truth for the landing zone. The demo
generator writes exactly these columns, the ingest assets type and validate
against them, the dbt sources are checked against them in a test, and
``docs/landing_contract.md`` is rendered from them (``python -m landing.contract``).

Layout: ``<landing>/<source>/<YYYY-MM-DD>/<any name>.<csv|jsonl|parquet>``; the
date folder is the *delivery* date (the day the file arrived), not the business
date of the records inside, so late-arriving records are normal.

Conventions that hold for every source:
- Timestamps are UTC, ISO 8601 (``2026-03-01T09:30:00Z`` or ``2026-03-01 09:30:00``).
- Dates are ``YYYY-MM-DD``. Money is in the shop's single currency with 2 decimals.
- CSV files are UTF-8 with a header row and ``,`` delimiter; JSONL is one object a line.
- A record may be delivered again later with a newer ``updated_at`` (or the same
  content twice): raw keeps every delivery, staging keeps the latest per key.

Hard rules, checked on every row at ingest: a required column is present; a value
can be read as its type; a value is in the column's allowed set; a number is within
its range. A row that breaks one is not loaded but kept in
``quality.quarantine_<source>`` with the reason, file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Logical types of the contract and the DuckDB type each is loaded as.
SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18,2)",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}

FILE_FORMATS = ("csv", "jsonl", "parquet")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    meaning: str
    allowed: tuple[str, ...] | None = None  # closed value set, when there is one
    min_value: float | None = None
    max_value: float | None = None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Source:
    name: str
    grain: str
    description: str
    file_format: str  # the format the demo feed delivers; ingest reads any of FILE_FORMATS
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)
    event_time: str | None = None  # business timestamp used for partitions and freshness

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"source {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name, type_, required, meaning, allowed=None, min_value=None, max_value=None) -> Column:
    return Column(name, type_, required, meaning, tuple(allowed) if allowed else None, min_value, max_value)


ORDER_CHANNELS = ("web", "app", "store")
ORDER_STATUSES = ("completed", "cancelled", "returned")
WEB_EVENT_TYPES = ("page_view", "product_view", "search", "add_to_cart", "checkout", "purchase")
DEVICES = ("desktop", "mobile", "tablet")
ACQUISITION_CHANNELS = ("organic_search", "paid_search", "social", "referral", "email", "offline_store")
TICKET_CHANNELS = ("email", "phone", "chat")
TICKET_CATEGORIES = ("delivery", "returns", "product", "billing", "account")
SOCIAL_PLATFORMS = ("weibo", "wechat", "xiaohongshu", "twitter", "instagram")
CAMPAIGN_EVENT_TYPES = ("sent", "open", "click", "convert")
EXPERIMENT_VARIANTS = ("control", "treatment")
PRIVACY_REQUEST_TYPES = ("erasure", "access")
GENDERS = ("female", "male", "other", "unknown")

SOURCES: dict[str, Source] = {
    s.name: s
    for s in [
        Source(
            "customers", "one record per customer version", "CRM master data; a customer is re-sent when it changes.",
            "csv", ("customer_id",),
            (
                _c("customer_id", "string", True, "CRM customer id, stable for life"),
                _c("email", "string", False, "e-mail address as typed by the customer (any case)"),
                _c("phone", "string", False, "phone number in any common national or international format"),
                _c("first_name", "string", False, "given name (Latin or Chinese script)"),
                _c("last_name", "string", False, "family name (Latin or Chinese script)"),
                _c("gender", "string", False, "self-declared gender", GENDERS),
                _c("birth_date", "date", False, "date of birth"),
                _c("city", "string", False, "city of the default address"),
                _c("region", "string", False, "state / province of the default address"),
                _c("country", "string", False, "country as ISO 3166 alpha-2 code or English name, any case"),
                _c("signup_at", "timestamp", True, "when the account was created"),
                _c("acquisition_channel", "string", False, "marketing channel of the first visit", ACQUISITION_CHANNELS),
                _c("marketing_consent", "boolean", True, "current opt-in to marketing e-mail and ads (true/false)"),
                _c("updated_at", "timestamp", True, "when this version of the record was written in the CRM"),
            ),
            event_time="updated_at",
        ),
        Source(
            "products", "one record per product version", "Product catalogue; re-sent when price or attributes change.",
            "jsonl", ("product_id",),
            (
                _c("product_id", "string", True, "catalogue SKU"),
                _c("name", "string", True, "product name (English or Chinese)"),
                _c("category", "string", True, "top-level category"),
                _c("brand", "string", True, "brand name"),
                _c("price", "decimal", True, "current list price", min_value=0),
                _c("updated_at", "timestamp", True, "when this version was written"),
            ),
            event_time="updated_at",
        ),
        Source(
            "orders", "one record per order version", "Order header; re-sent when the status changes (e.g. returned).",
            "parquet", ("order_id",),
            (
                _c("order_id", "string", True, "order number"),
                _c("customer_id", "string", True, "buyer (customers.customer_id)"),
                _c("ordered_at", "timestamp", True, "when the order was placed"),
                _c("channel", "string", True, "where it was placed", ORDER_CHANNELS),
                _c("status", "string", True, "current status", ORDER_STATUSES),
                _c("subtotal_amount", "decimal", True, "sum of line amounts before discount", min_value=0),
                _c("discount_amount", "decimal", True, "discount granted on the order", min_value=0),
                _c("shipping_amount", "decimal", True, "shipping fee charged", min_value=0),
                _c("total_amount", "decimal", True, "subtotal - discount + shipping", min_value=0),
                _c("updated_at", "timestamp", True, "when this version (status) was written"),
            ),
            event_time="ordered_at",
        ),
        Source(
            "order_items", "one record per order line", "Order lines, delivered with their order.",
            "parquet", ("order_id", "line_number"),
            (
                _c("order_id", "string", True, "order (orders.order_id)"),
                _c("line_number", "integer", True, "1-based line number within the order", min_value=1),
                _c("product_id", "string", True, "product (products.product_id)"),
                _c("quantity", "integer", True, "units bought", min_value=1),
                _c("unit_price", "decimal", True, "price per unit actually charged before order discount", min_value=0),
                _c("ordered_at", "timestamp", True, "when the order was placed (copied from the header)"),
            ),
            event_time="ordered_at",
        ),
        Source(
            "web_events", "one record per clickstream event", "Web and app clickstream from the tag manager.",
            "jsonl", ("event_id",),
            (
                _c("event_id", "string", True, "unique event id"),
                _c("anonymous_id", "string", True, "cookie / device id"),
                _c("customer_id", "string", False, "customer id when logged in"),
                _c("occurred_at", "timestamp", True, "event time"),
                _c("event_type", "string", True, "what happened", WEB_EVENT_TYPES),
                _c("product_id", "string", False, "product viewed / added / bought"),
                _c("page_url", "string", False, "page path"),
                _c("search_query", "string", False, "search terms for search events (Chinese or English)"),
                _c("device", "string", False, "device class", DEVICES),
                _c("utm_source", "string", False, "campaign source tag"),
                _c("utm_medium", "string", False, "campaign medium tag"),
                _c("utm_campaign", "string", False, "campaign name tag"),
            ),
            event_time="occurred_at",
        ),
        Source(
            "support_tickets", "one record per ticket version", "Help-desk tickets; re-sent when closed or rated.",
            "csv", ("ticket_id",),
            (
                _c("ticket_id", "string", True, "ticket number"),
                _c("customer_id", "string", True, "customer who opened it"),
                _c("opened_at", "timestamp", True, "when the ticket was opened"),
                _c("closed_at", "timestamp", False, "when it was closed; empty while open"),
                _c("channel", "string", True, "contact channel", TICKET_CHANNELS),
                _c("category", "string", True, "ticket category", TICKET_CATEGORIES),
                _c("satisfaction", "integer", False, "customer rating 1-5 after closing", min_value=1, max_value=5),
                _c("description", "string", False, "the customer's message (Chinese or English)"),
                _c("updated_at", "timestamp", True, "when this version was written"),
            ),
            event_time="opened_at",
        ),
        Source(
            "survey_responses", "one record per survey response", "Relationship NPS survey answers.",
            "jsonl", ("response_id",),
            (
                _c("response_id", "string", True, "response id"),
                _c("customer_id", "string", True, "respondent"),
                _c("responded_at", "timestamp", True, "when answered"),
                _c("nps_score", "integer", True, "likelihood to recommend, 0-10", min_value=0, max_value=10),
                _c("comment", "string", False, "free-text comment (Chinese or English)"),
            ),
            event_time="responded_at",
        ),
        Source(
            "social_mentions", "one record per social post", "Public posts that mention the brand.",
            "jsonl", ("post_id",),
            (
                _c("post_id", "string", True, "platform post id"),
                _c("platform", "string", True, "social platform", SOCIAL_PLATFORMS),
                _c("handle", "string", True, "author's public handle"),
                _c("posted_at", "timestamp", True, "when posted"),
                _c("text", "string", True, "post text (Chinese or English)"),
                _c("email_sha256", "string", False, "SHA-256 of the author's lower-cased e-mail, when the platform shares it"),
            ),
            event_time="posted_at",
        ),
        Source(
            "campaign_events", "one record per campaign touch", "E-mail campaign sends and responses, with A/B variant.",
            "csv", ("event_id",),
            (
                _c("event_id", "string", True, "event id"),
                _c("campaign_id", "string", True, "campaign"),
                _c("variant", "string", True, "experiment arm", EXPERIMENT_VARIANTS),
                _c("customer_id", "string", True, "recipient"),
                _c("event_type", "string", True, "funnel step", CAMPAIGN_EVENT_TYPES),
                _c("occurred_at", "timestamp", True, "when it happened"),
            ),
            event_time="occurred_at",
        ),
        Source(
            "privacy_requests", "one record per data-subject request", "Erasure and access requests from the privacy desk.",
            "csv", ("request_id",),
            (
                _c("request_id", "string", True, "request id"),
                _c("customer_id", "string", False, "customer, when the requester is identified"),
                _c("email", "string", False, "e-mail given by the requester, when no customer id is known"),
                _c("request_type", "string", True, "what is asked", PRIVACY_REQUEST_TYPES),
                _c("requested_at", "timestamp", True, "when the request was received"),
            ),
            event_time="requested_at",
        ),
    ]
}

# Load metadata columns that ingest adds to every raw table.
LOAD_COLUMNS = (
    _c("_batch_id", "string", True, "ingest batch that loaded the row"),
    _c("_source_file", "string", True, "landing file the row came from, relative to the landing root"),
    _c("_source_row", "integer", True, "where in that file: line number for CSV/JSONL (a CSV header is line 1), 1-based row for Parquet"),
    _c("_loaded_at", "timestamp", True, "when the row was loaded (UTC)"),
)


def render_markdown() -> str:
    """The contract as a Markdown document for ``docs/landing_contract.md``."""
    lines = [
        "# Landing contract",
        "",
        "_Generated from `landing/contract.py` by `python -m landing.contract`; do not edit by hand._",
        "",
        (__doc__ or "").strip(),
        "",
    ]
    for src in SOURCES.values():
        lines += [
            f"## `{src.name}`",
            "",
            f"{src.description} Grain: {src.grain}. Key: `{', '.join(src.primary_key)}`. "
            f"Demo feed format: {src.file_format}.",
            "",
            "| column | type | required | meaning |",
            "|---|---|---|---|",
        ]
        for col in src.columns:
            meaning = col.meaning
            if col.allowed:
                meaning += " (one of: " + ", ".join(f"`{v}`" for v in col.allowed) + ")"
            if col.min_value is not None or col.max_value is not None:
                lo = "" if col.min_value is None else f">= {col.min_value:g}"
                hi = "" if col.max_value is None else f"<= {col.max_value:g}"
                meaning += f" [{' and '.join(x for x in (lo, hi) if x)}]"
            lines.append(f"| `{col.name}` | {col.type} | {'yes' if col.required else 'no'} | {meaning} |")
        lines.append("")
    lines += ["## Load metadata added to every `raw.*` table", "", "| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | {c.meaning} |" for c in LOAD_COLUMNS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
