"""Deterministic demo data for the landing zone, with its planted truth.

``python -m landing.generate --help`` for the CLI; ``generate()`` for code.
"""

from .pipeline import generate

__all__ = ["generate"]
