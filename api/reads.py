"""Read service: turns validated request parameters into store queries and JSON pages.

List pages are assembled from the stored JSON bodies without decoding them; only tracks are
decoded, because their `status` and `last_round_on` depend on the read's `as_of`.
"""

import datetime as dt
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import msgspec

from api.collections import BY_KIND, TRACKS, Collection
from api.db import Store
from api.paging import decode_cursor, next_link, page_body, split_page, timeline_item
from api.problems import problem
from api.store import ListQuery, Position, RecordRepository, StoredRow
from schemas.vocab import TrackStatus

# A track with a round (or, for exchange tracks, an executed exchange) within this window is
# active; after it, stalled. 13 weeks is the longest default forecast horizon.
ACTIVE_WINDOW = dt.timedelta(weeks=13)

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def track_status(latest: dict[str, dt.date], today: dt.date) -> tuple[TrackStatus, dt.date | None]:
    """(status, last round) from a track's latest round, executed exchange, suspension and withdrawal.

    A suspension or withdrawal after the last activity suspends or ends the track; otherwise it
    is active while its last activity is within the window, stalled after.
    """
    last_round = latest.get("round")
    activity = max((d for k, d in latest.items() if k in ("round", "exchange")), default=None)
    stops = {k: d for k, d in latest.items() if k in ("suspension", "withdrawal")}
    if stops:
        kind, stopped_on = max(stops.items(), key=lambda item: item[1])
        if activity is None or stopped_on >= activity:
            return (TrackStatus.ENDED if kind == "withdrawal" else TrackStatus.SUSPENDED), last_round
    if activity is None or today - activity > ACTIVE_WINDOW:
        return TrackStatus.STALLED, last_round
    return TrackStatus.ACTIVE, last_round


class RawRevision(msgspec.Struct):
    """`schemas.writes.Revision` with the record passed through as stored JSON."""

    revision: int
    operation: str
    reason: str | None
    recorded_at: str
    record: msgspec.Raw


class RawChange(msgspec.Struct):
    """`schemas.writes.Change` with the record passed through as stored JSON."""

    seq: int
    collection: str
    id: str
    revision: int
    operation: str
    reason: str | None
    recorded_at: str
    record: msgspec.Raw | None


# Past every counter, and still a 64-bit integer as SQL parameters must be.
END_OF_COUNTERS = 2**62


def counter_position(cursor: str | None) -> int:
    """The number a sequence cursor stands for. Counters are encoded as 20-digit keys; any
    other key is placed where it would sort among them, so every cursor means something."""
    if not cursor:
        return 0
    key = decode_cursor(cursor).sort_key
    if key.isascii() and key.isdigit():
        return int(key)
    return 0 if key < "0" else END_OF_COUNTERS


def counter_cursor(value: int) -> Position:
    return Position(f"{value:020d}", "")


class ReadService:
    """Reads for the API: each borrows a connection for its own queries and gives it back."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @asynccontextmanager
    async def repository(self) -> AsyncIterator[RecordRepository]:
        async with self.store.connection() as conn:
            yield RecordRepository(conn)

    async def select(
        self, query: ListQuery, track_status: TrackStatus | None = None
    ) -> tuple[list[bytes], StoredRow | None]:
        async with self.repository() as records:
            return await select(records, query, track_status)

    async def batches(self, query: ListQuery, track_status: TrackStatus | None = None) -> AsyncIterator[list[bytes]]:
        """Every item from `query.after` on, `query.limit` at a time; each batch borrows a
        connection of its own, so a slow download holds none between batches."""
        while True:
            items, last = await self.select(query, track_status)
            if items:
                yield items
            if last is None:
                return
            query.after = Position(last.sort_key, last.id)

    async def revision_page(
        self, collection: Collection, record_id: str, limit: int, cursor: str | None, path: str,
        params: Iterable[tuple[str, str]],
    ) -> bytes:
        """A record's history, oldest first; it outlives the record's retraction."""
        after = counter_position(cursor)
        async with self.repository() as records:
            history = await records.revisions(collection, record_id)
        if not history:
            raise problem(404, f"No {collection.record_kind} with id {record_id!r} has ever existed.")
        window = [row for row in history if row.revision > after][: limit + 1]
        items = [
            _encode(RawRevision(row.revision, row.operation, row.reason, row.recorded_at, msgspec.Raw(row.body)))
            for row in window[:limit]
        ]
        last = counter_cursor(window[limit - 1].revision) if len(window) > limit else None
        return page_body(items, next_link(path, params, last) if last else None)

    async def change_page(self, limit: int, cursor: str | None, path: str, params: Iterable[tuple[str, str]]) -> bytes:
        """Every revision in commit order: replaying them rebuilds the current state."""
        after = counter_position(cursor)
        async with self.repository() as records:
            rows = await records.changes(after, limit)
        items = [
            _encode(RawChange(
                row.seq, BY_KIND[row.collection].name, row.record_id, row.revision, row.operation, row.reason,
                row.recorded_at, None if row.operation == "delete" else msgspec.Raw(row.body),
            ))
            for row in rows[:limit]
        ]
        # The feed never ends: `next` always points past what was served (or back at the same
        # place when nothing was), so a mirror polls it to pick up later writes.
        served = rows[:limit]
        last = counter_cursor(served[-1].seq if served else after)
        return page_body(items, next_link(path, params, last))

    async def one(self, collection: Collection, record_id: str, as_of: dt.date | None = None) -> bytes:
        async with self.repository() as records:
            return await representation(records, collection, record_id, as_of)


async def select(
    records: RecordRepository, query: ListQuery, track_status: TrackStatus | None = None
) -> tuple[list[bytes], StoredRow | None]:
    """One batch of items as served (encoded JSON), and the last row when more follow.

    `query.after` and `query.limit` say where the batch starts and how long it is. Timeline
    items come wrapped with their kind; tracks gain their derived status, and filtering on
    that status happens after derivation.
    """
    if query.collection is TRACKS:
        # Tracks are a small reference collection: derive every candidate, then cut the batch.
        rows = await records.rows(query, unbounded=True)
        documents = await with_track_status(records, rows, query.as_of)
        kept = [(row, doc) for row, doc in zip(rows, documents)
                if track_status is None or doc["status"] == track_status.value]
        page, last = split_page([row for row, _ in kept], query.limit)
        return [_encode(doc) for _, doc in kept[: len(page)]], last
    rows, last = split_page(await records.rows(query), query.limit)
    if query.collection is None:
        return [timeline_item(row) for row in rows], last
    return [row.body for row in rows], last


async def representation(
    records: RecordRepository, collection: Collection, record_id: str, as_of: dt.date | None = None
) -> bytes:
    """A record as the API serves it (tracks with their derived status); 404 when it is not live."""
    body = await records.get(collection, record_id)
    if body is None:
        raise problem(404, f"No {collection.record_kind} with id {record_id!r}.")
    if collection is TRACKS:
        row = StoredRow(TRACKS.record_kind, record_id, record_id, body)
        return _encode((await with_track_status(records, [row], as_of))[0])
    return body


async def with_track_status(
    records: RecordRepository, rows: list[StoredRow], as_of: dt.date | None
) -> list[dict[str, object]]:
    today = as_of or dt.datetime.now(dt.UTC).date()
    latest = await records.latest_activity([row.id for row in rows], today)
    documents = []
    for row in rows:
        document = _decode(row.body)
        status, last_round = track_status(latest.get(row.id, {}), today)
        document["status"] = status.value
        document["last_round_on"] = last_round.isoformat() if last_round else None
        documents.append(document)
    return documents
