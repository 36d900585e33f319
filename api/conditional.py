"""Entity tags and the conditional-request rules of RFC 9110 that Parley uses."""

import hashlib


def etag(representation: bytes) -> str:
    """A strong ETag: a digest of the exact bytes served, so any change of content changes it."""
    return '"' + hashlib.sha256(representation).hexdigest()[:32] + '"'


def _tags(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def if_match_holds(header: str, current: str) -> bool:
    """If-Match uses strong comparison: a weak tag (`W/"…"`) never matches."""
    tags = _tags(header)
    return "*" in tags or current in tags


def if_none_match_holds(header: str, current: str) -> bool:
    """True when the client's copy is current (answer 304). If-None-Match compares weakly."""
    tags = [tag.removeprefix("W/") for tag in _tags(header)]
    return "*" in tags or current in tags
