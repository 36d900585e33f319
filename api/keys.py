"""API keys: `plk_<id>_<secret>`, 256 random bits of secret, stored only as a SHA-256 digest."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from api.db import Connection, write_transaction

KEY_PATTERN = re.compile(r"^plk_([0-9a-f]{12})_([0-9a-f]{64})$")


class Scope(StrEnum):
    """`write` creates and corrects records; `admin` may also retract and restore them."""

    WRITE = "write"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    scope: Scope
    created_at: str
    revoked_at: str | None

    def allows(self, needed: Scope) -> bool:
        return self.scope is Scope.ADMIN or needed is Scope.WRITE


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def create(self, name: str, scope: Scope) -> tuple[ApiKey, str]:
        """A new key and its full token; the token is not stored and cannot be shown again."""
        key_id, secret = secrets.token_hex(6), secrets.token_hex(32)
        created_at = datetime.now(UTC).isoformat()
        async with write_transaction(self.conn):
            await self.conn.execute(
                "INSERT INTO api_keys (id, name, scope, digest, created_at) VALUES (?, ?, ?, ?, ?)",
                (key_id, name, scope.value, digest(secret), created_at),
            )
        return ApiKey(key_id, name, scope, created_at, None), f"plk_{key_id}_{secret}"

    async def list_keys(self) -> list[ApiKey]:
        rows = await self.conn.fetchall("SELECT id, name, scope, created_at, revoked_at FROM api_keys ORDER BY created_at, id")
        return [ApiKey(i, n, Scope(s), c, r) for i, n, s, c, r in rows]

    async def revoke(self, key_id: str) -> bool:
        async with write_transaction(self.conn):
            changed = await self.conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), key_id),
            )
        return changed == 1

    async def verify(self, token: str) -> ApiKey | None:
        """The live key this token proves, or None. The digest comparison is constant-time."""
        match = KEY_PATTERN.fullmatch(token)
        if match is None:
            return None
        key_id, secret = match.groups()
        row = await self.conn.fetchone(
            "SELECT name, scope, digest, created_at, revoked_at FROM api_keys WHERE id = ?", (key_id,)
        )
        # Hash even when the id is unknown, so timing does not reveal which ids exist.
        presented = digest(secret)
        stored = row[2] if row else digest("")
        if not hmac.compare_digest(presented, stored) or row is None or row[4] is not None:
            return None
        return ApiKey(key_id, row[0], Scope(row[1]), row[3], None)
