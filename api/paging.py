"""The one pagination helper: opaque cursors, `next` links and page bodies built from stored JSON.

A cursor is the base64url form of the last position served, (sort_key, id). Any string that
matches the cursor pattern decodes to *some* position, so a cursor can never crash a read; a
forged one just starts the page somewhere else in the same stable order.
"""

import base64
from collections.abc import Iterable
from urllib.parse import urlencode

import msgspec

from api.store import Position, StoredRow

CURSOR_PATTERN = r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$"
_SEPARATOR = "\x1f"
_encode = msgspec.json.Encoder().encode


def encode_cursor(position: Position) -> str:
    raw = f"{position.sort_key}{_SEPARATOR}{position.id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> Position:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    sort_key, _, record_id = raw.decode("utf-8", errors="replace").partition(_SEPARATOR)
    return Position(sort_key=sort_key, id=record_id)


def next_link(path: str, query: Iterable[tuple[str, str]], last: StoredRow | Position) -> str:
    """The same request with `cursor` moved past `last`; other parameters keep their order."""
    params = [(k, v) for k, v in query if k != "cursor"]
    params.append(("cursor", encode_cursor(Position(last.sort_key, last.id))))
    return f"{path}?{urlencode(params)}"


def page_body(items: list[bytes], next_url: str | None) -> bytes:
    """`{"items": [...], "next": ...}` around already-encoded items: nothing is decoded again."""
    return b'{"items":[' + b",".join(items) + b'],"next":' + _encode(next_url) + b"}"


def split_page(rows: list[StoredRow], limit: int) -> tuple[list[StoredRow], StoredRow | None]:
    """The rows to serve, and the last of them when there are more to come."""
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1]
    return rows, None


def timeline_item(row: StoredRow) -> bytes:
    return b'{"kind":"' + row.record_kind.encode() + b'","record":' + row.body + b"}"
