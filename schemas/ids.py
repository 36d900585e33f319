"""How event ids are made. Deterministic ids let a record name another before both are stored
(an exchange names the round that agreed it) and let re-seeding find what it wrote before."""

import hashlib
import secrets

ROUND_PREFIX, EXCHANGE_PREFIX, STATEMENT_PREFIX, FRONT_REPORT_PREFIX = "rnd", "exc", "stm", "frp"


def derived_id(prefix: str, external_id: str) -> str:
    """The id of the record with this external id: prefix + 16 hex digits of its SHA-256."""
    return f"{prefix}_{hashlib.sha256(f'{prefix}:{external_id}'.encode()).hexdigest()[:16]}"


def random_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"
