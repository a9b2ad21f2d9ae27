"""The customer-profile report and the audience exports as assets (rendering lives in ``reporting/``)."""

from .assets import audience_exports, customer_profile_report

report_assets = [customer_profile_report, audience_exports]
