"""Repositories: small classes that run SQL and hand back stored JSON bodies or Structs.

The SQL is kept to what SQLite and PostgreSQL both speak (row-value comparison, GROUP BY,
`?` placeholders that a PostgreSQL adapter can translate), so one code path can serve both.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import NamedTuple

import msgspec

from api.collections import Collection, Columns
from api.db import Connection, schema_version, write_transaction
from schemas.ids import derived_id, random_id

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a collection's order, (sort_key, id): where the next page starts after."""

    sort_key: str
    id: str


@dataclass(slots=True)
class ListQuery:
    """What a list read asks for. `collection` None means the timeline of all event kinds."""

    collection: Collection | None
    limit: int
    equals: dict[str, str] = field(default_factory=dict)  # column -> value
    kinds: tuple[str, ...] = ()  # timeline only: restrict to these record kinds
    actor: str | None = None  # also matches records of actors affiliated to it, up the chain
    text: str | None = None  # full-text search (`q`), see `search_expression`
    date_from: date | None = None
    date_to: date | None = None
    as_of: date | None = None
    after: Position | None = None


class StoredRow(NamedTuple):
    # A tuple rather than a dataclass: pages build hundreds of these per request.
    record_kind: str
    sort_key: str
    id: str
    body: bytes


# Column names come from this allow-list only, never from a request.
FILTER_COLUMNS = frozenset({"track_id", "front_id", "kind", "status", "outcome"})

# The actor asked for and every actor affiliated to it, directly or up a chain (peskov ->
# russia). UNION, not UNION ALL, so a cycle of affiliations ends.
AFFILIATED_ACTORS = """WITH RECURSIVE members(member) AS (
        SELECT CAST(? AS TEXT)
        UNION SELECT e.record_id FROM record_actors e JOIN members ON e.actor_id = members.member
              WHERE e.collection = 'actor')
    SELECT member FROM members"""
# Event records whose summary, quote or notes match a search expression, per dialect: an FTS5
# table on SQLite, and on PostgreSQL the GIN-indexed `record_search_vector` (migration 0003).
TEXT_MATCH = {
    "sqlite": "(collection, id) IN (SELECT k.collection, k.record_id FROM record_search"
              " JOIN record_search_keys k ON k.search_id = record_search.rowid WHERE record_search MATCH ?)",
    "postgresql": "record_search_vector(body) @@ websearch_to_tsquery('english', ?)",
}
_CHUNK_RE = re.compile(r'"([^"]*)"|(\S+)')  # a quoted phrase, or a run of non-blanks
_WORD_RE = re.compile(r"[^\W_]+")  # letters and digits: what both tokenizers keep


def search_expression(text: str) -> str | None:
    """`q` as a search that FTS5 and PostgreSQL's websearch_to_tsquery both read the same way: every
    word must occur (stemmed, any case), and words in double quotes, or joined by punctuation
    ("ceasefire-talks"), must occur together as a phrase. Nothing else is syntax: each phrase is
    rebuilt from its letters and digits, so no input can be a malformed query. None when `text`
    holds no word at all."""
    phrases = []
    for quoted, bare in _CHUNK_RE.findall(text):
        words = _WORD_RE.findall(quoted or bare)
        if words:
            phrases.append('"' + " ".join(words) + '"')
    return " ".join(phrases) or None


class RecordRepository:
    """Reads records of any collection, and the timeline across the event collections."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def rows(self, query: ListQuery, *, unbounded: bool = False) -> list[StoredRow]:
        """Rows in (sort_key, id) order after `query.after`; limit+1 rows so callers see a next page."""
        where, params = ["1=1"], []
        if query.collection is None:
            where.append("is_event = 1")
            if query.kinds:
                where.append(f"collection IN ({', '.join('?' * len(query.kinds))})")
                params.extend(query.kinds)
        else:
            where.append("collection = ?")
            params.append(query.collection.record_kind)
        for column, value in query.equals.items():
            if column not in FILTER_COLUMNS:
                raise ValueError(f"not a filter column: {column}")
            where.append(f"{column} = ?")
            params.append(value)
        if query.actor is not None:
            where.append("EXISTS (SELECT 1 FROM record_actors a WHERE a.collection = records.collection"
                         f" AND a.record_id = records.id AND a.actor_id IN ({AFFILIATED_ACTORS}))")
            params.append(query.actor)
        if query.text is not None:
            expression = search_expression(query.text)
            if expression is None:
                where.append("1 = 0")  # no word to look for: nothing matches
            else:
                where.append(TEXT_MATCH[self.conn.dialect])
                params.append(expression)
        if query.date_from is not None:
            where.append("event_date >= ?")
            params.append(query.date_from.isoformat())
        if query.date_to is not None:
            where.append("event_date <= ?")
            params.append(query.date_to.isoformat())
        if query.as_of is not None:
            # Timeless reference records (no reported_at) exist at every as_of.
            where.append("(reported_at IS NULL OR reported_at <= ?)")
            params.append(query.as_of.isoformat())
        if query.after is not None:
            where.append("(sort_key, id) > (?, ?)")
            params.extend((without_nul(query.after.sort_key), without_nul(query.after.id)))
        sql = (f"SELECT collection, sort_key, id, {self.conn.body_bytes} FROM records WHERE {' AND '.join(where)}"
               " ORDER BY sort_key, id")
        if not unbounded:
            sql += " LIMIT ?"
            params.append(query.limit + 1)
        return list(map(StoredRow._make, await self.conn.fetchall(sql, params)))

    async def get(self, collection: Collection, record_id: str) -> bytes | None:
        row = await self.conn.fetchone(
            f"SELECT {self.conn.body_bytes} FROM records WHERE collection = ? AND id = ?",
            (collection.record_kind, record_id),
        )
        return None if row is None else row[0]

    async def revisions(self, collection: Collection, record_id: str) -> list[RevisionRow]:
        """A record's whole history, oldest first, whether or not it is live."""
        return await self._revision_rows(
            "WHERE collection = ? AND record_id = ? ORDER BY revision", (collection.record_kind, record_id)
        )

    async def changes(self, after_seq: int, limit: int) -> list[RevisionRow]:
        """Revisions in commit order after `after_seq`; limit+1 rows so callers see a next page."""
        return await self._revision_rows("WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit + 1))

    async def _revision_rows(self, where: str, params: tuple[object, ...]) -> list[RevisionRow]:
        rows = await self.conn.fetchall(
            f"SELECT seq, collection, record_id, revision, operation, reason, recorded_at, body FROM revisions {where}",
            params,
        )
        return [RevisionRow(q, c, i, v, o, r, t, b.encode()) for q, c, i, v, o, r, t, b in rows]

    async def schema_version(self) -> int:
        return await schema_version(self.conn)

    async def ever_existed(self, collection: Collection, record_id: str) -> bool:
        """Whether the record has any revision, live or retracted."""
        return await self.conn.fetchone(
            "SELECT 1 FROM revisions WHERE collection = ? AND record_id = ? LIMIT 1", (collection.record_kind, record_id)
        ) is not None

    async def written_by(self, collection: Collection, record_id: str, revision: int, reason: str) -> bool:
        """Whether that revision of the record was written with `reason` and no API key: by a loader."""
        row = await self.conn.fetchone(
            "SELECT reason, key_id FROM revisions WHERE collection = ? AND record_id = ? AND revision = ?",
            (collection.record_kind, record_id, revision),
        )
        return row is not None and row[0] == reason and row[1] is None

    async def exists(self, collection: Collection, record_id: str) -> bool:
        return await self.get(collection, record_id) is not None

    async def latest_activity(self, track_ids: list[str], as_of: date) -> dict[str, dict[str, date]]:
        """Per track, the latest dated held round, executed exchange, suspension and withdrawal by
        `as_of`. Announced and cancelled rounds are no activity: they did not take place."""
        if not track_ids:
            return {}
        marks = ", ".join("?" * len(track_ids))
        rows = await self.conn.fetchall(
            f"""SELECT track_id, collection, kind, MAX(event_date) FROM records
                WHERE track_id IN ({marks}) AND event_date IS NOT NULL AND reported_at <= ?
                  AND ((collection = 'round' AND COALESCE(status, 'held') = 'held')
                       OR (collection = 'exchange' AND status = 'executed')
                       OR (collection = 'statement' AND kind IN ('suspension', 'withdrawal')))
                GROUP BY track_id, collection, kind""",
            [*track_ids, as_of.isoformat()],
        )
        latest: dict[str, dict[str, date]] = {}
        for track_id, collection, kind, day in rows:
            label = kind if collection == "statement" else collection
            latest.setdefault(track_id, {})[label] = date.fromisoformat(day)
        return latest


def without_nul(text: str) -> str:
    """A cursor's key, sendable to PostgreSQL (whose text cannot hold NUL). No stored key holds a
    control character, so \x01 in place of \x00 compares with every stored key exactly the same."""
    return text.replace("\x00", "\x01")


def mint_id(collection: Collection, external_id: str | None) -> str:
    """Event ids: derived from an external id when there is one, else random."""
    assert collection.id_prefix is not None
    return random_id(collection.id_prefix) if external_id is None else derived_id(collection.id_prefix, external_id)


def utc_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Written:
    id: str
    revision: int
    body: bytes


@dataclass(frozen=True, slots=True)
class RevisionRow:
    seq: int
    collection: str
    record_id: str
    revision: int
    operation: str
    reason: str | None
    recorded_at: str
    body: bytes


class RevisionWriter:
    """The one write path. Every change of the current state appends a revision in the same
    transaction (the caller's), and nothing in `revisions` is ever changed afterwards."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def find_by_natural_key(self, collection: Collection, record: msgspec.Struct) -> str | None:
        """The id of an existing record that `record` would duplicate, if any."""
        if collection.is_event:
            external_id = getattr(record, "external_id", None)
            if external_id is None:
                return None
            row = await self.conn.fetchone(
                "SELECT id FROM records WHERE collection = ? AND external_id = ?", (collection.record_kind, external_id)
            )
            return None if row is None else row[0]
        record_id = getattr(record, "id")
        return record_id if await RecordRepository(self.conn).exists(collection, record_id) else None

    async def create(
        self, collection: Collection, record: msgspec.Struct, *, reason: str | None = None, key_id: str | None = None
    ) -> Written:
        """Insert a new record as revision 1."""
        columns = collection.columns(record)
        record_id = mint_id(collection, columns.external_id) if collection.is_event else getattr(record, "id")
        return await self._put(collection, record_id, record, 1, "create", reason, key_id, insert=True)

    async def correct(
        self, collection: Collection, record_id: str, record: msgspec.Struct, revision: int, *, reason: str,
        key_id: str | None,
    ) -> Written:
        """Replace the current state of a live record with `record` as revision `revision`."""
        return await self._put(collection, record_id, record, revision, "correct", reason, key_id, insert=False)

    async def retract(self, collection: Collection, record_id: str, *, reason: str, key_id: str | None) -> int:
        """Remove a live record from the current state; its history stays. Returns the new revision."""
        row = await self.conn.fetchone(
            "SELECT revision, body FROM records WHERE collection = ? AND id = ?", (collection.record_kind, record_id)
        )
        if row is None:
            raise LookupError(record_id)
        revision = row[0] + 1
        await self.conn.execute("DELETE FROM records WHERE collection = ? AND id = ?", (collection.record_kind, record_id))
        await self.conn.execute(
            "DELETE FROM record_actors WHERE collection = ? AND record_id = ?", (collection.record_kind, record_id)
        )
        # The delete revision keeps the body that was retracted, so history shows what went.
        await self._append(collection, record_id, revision, "delete", row[1], reason, key_id, utc_now())
        return revision

    async def restore(
        self, collection: Collection, record_id: str, record: msgspec.Struct, revision: int, *, reason: str,
        key_id: str | None,
    ) -> Written:
        """Bring a retracted record back as a new revision."""
        return await self._put(collection, record_id, record, revision, "restore", reason, key_id, insert=True)

    async def _put(
        self, collection: Collection, record_id: str, record: msgspec.Struct, revision: int, operation: str,
        reason: str | None, key_id: str | None, *, insert: bool,
    ) -> Written:
        columns: Columns = collection.columns(record)
        recorded_at = utc_now()
        fields = msgspec.to_builtins(record)
        fields.pop("id", None)
        body = _encode(
            {"id": record_id, **fields, **collection.derived(record), "revision": revision, "recorded_at": recorded_at}
        ).decode()
        values = (
            int(collection.is_event), columns.sort_key, columns.event_date, columns.reported_at, columns.track_id,
            columns.front_id, columns.kind, columns.status, columns.outcome, columns.external_id, revision,
            recorded_at, body,
        )
        if insert:
            await self.conn.execute(
                """INSERT INTO records (is_event, sort_key, event_date, reported_at, track_id, front_id, kind, status,
                                       outcome, external_id, revision, recorded_at, body, collection, id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (*values, collection.record_kind, record_id),
            )
        else:
            await self.conn.execute(
                """UPDATE records SET is_event = ?, sort_key = ?, event_date = ?, reported_at = ?, track_id = ?,
                       front_id = ?, kind = ?, status = ?, outcome = ?, external_id = ?, revision = ?,
                       recorded_at = ?, body = ?
                   WHERE collection = ? AND id = ?""",
                (*values, collection.record_kind, record_id),
            )
            await self.conn.execute(
                "DELETE FROM record_actors WHERE collection = ? AND record_id = ?", (collection.record_kind, record_id)
            )
        await self.conn.executemany(
            "INSERT INTO record_actors (collection, record_id, actor_id) VALUES (?, ?, ?)",
            [(collection.record_kind, record_id, actor) for actor in columns.actors],
        )
        await self._append(collection, record_id, revision, operation, body, reason, key_id, recorded_at)
        return Written(record_id, revision, body.encode())

    async def _append(
        self, collection: Collection, record_id: str, revision: int, operation: str, body: str, reason: str | None,
        key_id: str | None, recorded_at: str,
    ) -> None:
        await self.conn.execute(
            """INSERT INTO revisions (collection, record_id, revision, operation, body, reason, key_id, recorded_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (collection.record_kind, record_id, revision, operation, body, reason, key_id, recorded_at),
        )


@dataclass(frozen=True, slots=True)
class LoadSummary:
    created: int
    unchanged: int
    corrected: int = 0
    # Changed by someone else (an analyst's correction) or retracted since the loader wrote
    # them: their current state is theirs, and the loader leaves it alone.
    kept: int = 0


async def load_records(conn: Connection, batches: list[tuple[Collection, list[msgspec.Struct]]], reason: str) -> LoadSummary:
    """Bring the store up to date with `batches`, all in one transaction.

    A record not present (by natural key) is created. One present with other content is corrected,
    as a new revision, when its current revision is one this loader wrote (same `reason`, no
    key), so a store seeded by an older version gains what the seed data gained; running it
    again creates and corrects nothing.
    """
    outcomes: Counter[str] = Counter()
    writer, records = RevisionWriter(conn), RecordRepository(conn)
    # One transaction for the whole batch: a seed or import lands completely or not at all.
    async with write_transaction(conn):
        for collection, items in batches:
            for record in items:
                outcomes[await _load_one(writer, records, collection, record, reason)] += 1
    return LoadSummary(created=outcomes["created"], unchanged=outcomes["unchanged"],
                       corrected=outcomes["corrected"], kept=outcomes["kept"])


async def _load_one(
    writer: RevisionWriter, records: RecordRepository, collection: Collection, record: msgspec.Struct, reason: str
) -> str:
    record_id = await writer.find_by_natural_key(collection, record)
    if record_id is None:
        natural_id = mint_id(collection, getattr(record, "external_id")) if collection.is_event else getattr(record, "id")
        if await records.ever_existed(collection, natural_id):
            return "kept"  # retracted: bringing it back is a restore, for a person to decide
        await writer.create(collection, record, reason=reason)
        return "created"
    stored = await records.get(collection, record_id)
    assert stored is not None  # find_by_natural_key finds live records only
    current = msgspec.json.decode(stored)
    if collection.writable(current) == msgspec.to_builtins(record):
        return "unchanged"
    if not await records.written_by(collection, record_id, int(current["revision"]), reason):
        return "kept"
    await writer.correct(collection, record_id, record, int(current["revision"]) + 1, reason=reason, key_id=None)
    return "corrected"
