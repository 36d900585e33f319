"""Read service: turns validated request parameters into store queries and JSON pages.

List pages are assembled from the stored JSON bodies without decoding them; only tracks are
decoded, because their `status` and `last_round_on` depend on the read's `as_of`.
"""

import datetime as dt
from collections.abc import Iterable

import msgspec

from api.collections import TRACKS, Collection
from api.paging import decode_cursor, next_link, page_body, split_page, timeline_item
from api.problems import problem
from api.store import ListQuery, RecordRepository, StoredRow
from schemas.vocab import TrackStatus

# A track with a round (or, for exchange tracks, an executed exchange) within this window is
# active; after it, stalled. 13 weeks is the longest default forecast horizon.
ACTIVE_WINDOW = dt.timedelta(weeks=13)

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


def derive_track_status(latest: dict[str, dt.date]) -> tuple[TrackStatus, dt.date | None, dt.date | None]:
    """(status before the activity window is applied, last round, last activity) from latest events."""
    last_round = latest.get("round")
    activity = max((d for k, d in latest.items() if k in ("round", "exchange")), default=None)
    stops = {k: d for k, d in latest.items() if k in ("suspension", "withdrawal")}
    if stops:
        kind, stopped_on = max(stops.items(), key=lambda item: item[1])
        if activity is None or stopped_on >= activity:
            return (TrackStatus.ENDED if kind == "withdrawal" else TrackStatus.SUSPENDED), last_round, activity
    return TrackStatus.ACTIVE, last_round, activity


def track_status(latest: dict[str, dt.date], today: dt.date) -> tuple[TrackStatus, dt.date | None]:
    status, last_round, activity = derive_track_status(latest)
    if status is TrackStatus.ACTIVE and (activity is None or today - activity > ACTIVE_WINDOW):
        status = TrackStatus.STALLED
    return status, last_round


class ReadService:
    def __init__(self, records: RecordRepository) -> None:
        self.records = records

    def list_page(
        self, query: ListQuery, cursor: str | None, path: str, params: Iterable[tuple[str, str]]
    ) -> bytes:
        """One page of a collection, or of the timeline when `query.collection` is None."""
        query.after = decode_cursor(cursor) if cursor else None
        rows, last = split_page(self.records.rows(query), query.limit)
        items = [row.body for row in rows] if query.collection else [timeline_item(row) for row in rows]
        return page_body(items, next_link(path, params, last) if last else None)

    def track_page(
        self, query: ListQuery, status: TrackStatus | None, cursor: str | None, path: str,
        params: Iterable[tuple[str, str]],
    ) -> bytes:
        """Tracks with their derived status; filtering on it happens after derivation."""
        query.after = decode_cursor(cursor) if cursor else None
        # Tracks are a small reference collection: derive every candidate, then cut the page.
        rows = self.records.rows(query, unbounded=True)
        documents = self._with_track_status(rows, query.as_of)
        kept = [(row, doc) for row, doc in zip(rows, documents) if status is None or doc["status"] == status.value]
        page, last = split_page([row for row, _ in kept], query.limit)
        bodies = [_encode(doc) for _, doc in kept[: len(page)]]
        return page_body(bodies, next_link(path, params, last) if last else None)

    def one(self, collection: Collection, record_id: str, as_of: dt.date | None = None) -> bytes:
        body = self.records.get(collection, record_id)
        if body is None:
            raise problem(404, f"No {collection.record_kind} with id {record_id!r}.")
        if collection is TRACKS:
            row = StoredRow(TRACKS.record_kind, record_id, record_id, body)
            return _encode(self._with_track_status([row], as_of)[0])
        return body

    def _with_track_status(self, rows: list[StoredRow], as_of: dt.date | None) -> list[dict[str, object]]:
        today = as_of or dt.datetime.now(dt.UTC).date()
        latest = self.records.latest_activity([row.id for row in rows], today)
        documents = []
        for row in rows:
            document = _decode(row.body)
            status, last_round = track_status(latest.get(row.id, {}), today)
            document["status"] = status.value
            document["last_round_on"] = last_round.isoformat() if last_round else None
            documents.append(document)
        return documents
