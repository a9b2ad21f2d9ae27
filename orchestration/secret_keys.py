"""Secrets of the warehouse: read from the environment only, never logged, never stored in Dagster.

* ``WAREHOUSE_PSEUDONYM_KEY``: the key of the keyed hash (HMAC-SHA256) that turns a CRM
  customer id into the pseudonymous ``customer_key`` every mart, model output, report and
  export carries. Whoever holds it can re-identify customers, so it lives in the secret
  manager of the deployment, not in the repository or the warehouse.
* ``WAREHOUSE_ENCRYPTION_KEY`` (optional): DuckDB database encryption of the serving file.

``WAREHOUSE_ENV=production`` makes a missing pseudonym key an error. Elsewhere (a laptop, CI,
the demo) a random key is generated once under ``$DATA_DIR/secrets/`` (mode 0600), so a fresh
clone runs with no setup and every rebuild of the same data gives the same keys.

The key reaches DuckDB only as bound query parameters (the HMAC pads, see ``hmac_sql``), so it
never appears in SQL text, dbt's compiled files, logs, run metadata or the UI.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PSEUDONYM_KEY_VAR = "WAREHOUSE_PSEUDONYM_KEY"
ENCRYPTION_KEY_VAR = "WAREHOUSE_ENCRYPTION_KEY"
ENVIRONMENT_VAR = "WAREHOUSE_ENV"
MIN_KEY_CHARS = 32
DEV_KEY_FILE = Path("secrets") / "pseudonym.key"
_BLOCK = 64  # SHA-256 block size in bytes, for the HMAC pads


class MissingSecretError(RuntimeError):
    """A secret the deployment must provide is missing or too weak."""


def is_production() -> bool:
    return os.environ.get(ENVIRONMENT_VAR, "development").strip().lower() == "production"


def _generate_hint(var: str) -> str:
    return (f"generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`, keep it in your "
            f"secret manager and export it as {var} to the Dagster webserver, daemon and run workers")


@dataclass(frozen=True)
class PseudonymKey:
    """HMAC-SHA256 with the warehouse's secret key. ``repr`` never shows the key."""

    key: bytes = field(repr=False)
    source: str = "environment"

    def __post_init__(self):
        if len(self.key) < MIN_KEY_CHARS:
            raise MissingSecretError(f"{PSEUDONYM_KEY_VAR} is shorter than {MIN_KEY_CHARS} characters; "
                                     + _generate_hint(PSEUDONYM_KEY_VAR))

    def hex(self, message: str) -> str:
        return hmac.new(self.key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    @property
    def fingerprint(self) -> str:
        """Identifies the key without revealing it: tells when the key changed between runs."""
        return self.hex("fingerprint")[:16]

    def sql_params(self) -> dict[str, bytes]:
        """The HMAC inner and outer pads, bound as ``$hmac_ipad`` / ``$hmac_opad`` in ``hmac_sql``."""
        padded = (hashlib.sha256(self.key).digest() if len(self.key) > _BLOCK else self.key).ljust(_BLOCK, b"\0")
        return {"hmac_ipad": bytes(b ^ 0x36 for b in padded), "hmac_opad": bytes(b ^ 0x5C for b in padded)}


def hmac_sql(message_sql: str) -> str:
    """DuckDB SQL computing hex HMAC-SHA256 of a text expression with the key bound as parameters.

    HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), on bytes: the inner digest is un-hexed
    before the outer hash. Equal to ``PseudonymKey.hex`` (tested).
    """
    return f"sha256($hmac_opad || unhex(sha256($hmac_ipad || encode({message_sql}))))"


def pseudonym_key(data_dir: Path) -> PseudonymKey:
    value = os.environ.get(PSEUDONYM_KEY_VAR, "").strip()
    if value:
        return PseudonymKey(value.encode("utf-8"))
    if is_production():
        raise MissingSecretError(f"{PSEUDONYM_KEY_VAR} is not set and {ENVIRONMENT_VAR}=production: marts cannot "
                                 "be pseudonymised without it; " + _generate_hint(PSEUDONYM_KEY_VAR))
    return PseudonymKey(_development_key(data_dir), source=f"development key file $DATA_DIR/{DEV_KEY_FILE}")


def _development_key(data_dir: Path) -> bytes:
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        # O_EXCL: two processes starting at once must not write two different keys
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def encryption_key() -> str | None:
    value = os.environ.get(ENCRYPTION_KEY_VAR, "").strip()
    if value and len(value) < MIN_KEY_CHARS:
        raise MissingSecretError(f"{ENCRYPTION_KEY_VAR} is shorter than {MIN_KEY_CHARS} characters; "
                                 + _generate_hint(ENCRYPTION_KEY_VAR))
    return value or None


def check_production_secrets() -> None:
    """Fail at load time, with the fix, when a production deployment lacks a required secret."""
    if is_production() and not os.environ.get(PSEUDONYM_KEY_VAR, "").strip():
        raise MissingSecretError(f"{PSEUDONYM_KEY_VAR} is not set and {ENVIRONMENT_VAR}=production; "
                                 + _generate_hint(PSEUDONYM_KEY_VAR))
    encryption_key()
