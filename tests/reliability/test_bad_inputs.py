"""A battery of malformed requests: every one gets a 4xx problem, none a 5xx, and nothing is written."""

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from helpers import bearer, query
from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings
from schemas.ids import ROUND_PREFIX, derived_id
from seeds.brief import ROUND_2_KEY

VALID_ROUND = {
    "track": "istanbul-talks", "date": "2026-06-20", "sources": ["brief-2026-06-07"], "outcome": "none",
    "venue": "Istanbul", "sequence": 3, "mediators": ["turkey"], "topics": ["prisoners"], "ceasefire_agreed": False,
    "end_date": "2026-06-21", "summary": "A round.", "date_precision": "day", "confidence": "high",
}
# For each field, values that are wrong for it: wrong type, out of range, or naming nothing.
TEXT_WRONG: list[object] = [0, 1.5, [], {}, True, "", "x" * 5000]
DATE_WRONG: list[object] = ["2026-13-45", "2026-02-30", "tomorrow", "", 20260620, [], None]
LIST_WRONG: list[object] = ["turkey", 0, {}, [1], [""], ["Not A Slug"], ["x" * 100], None]
WRONG: dict[str, list[object]] = {
    "track": [*TEXT_WRONG, None, "Not A Slug", "no-such-track"],
    "date": DATE_WRONG[:-1],  # a null date is legal only with precision unknown; covered below
    "sources": [*LIST_WRONG, [], ["no-such-source"]],
    "outcome": ["won", "", 0, None, ["none"]],
    "venue": TEXT_WRONG,
    "sequence": [0, -1, 1.5, "3", True, 10_001],
    "mediators": [*LIST_WRONG, ["no-such-actor"]],
    "topics": ["prisoners", 0, {}, [1], [""], ["x" * 501]],
    "ceasefire_agreed": ["yes", 0, 1, "", []],
    "end_date": [*DATE_WRONG[:-1], "2026-06-19"],  # the day before `date`
    "summary": TEXT_WRONG,
    "date_precision": ["daily", "", 0, None, "unknown"],  # `unknown` needs a null date
    "confidence": ["certain", "", 0, None],
}
ROUND_TWO = f"/v1/rounds/{derived_id(ROUND_PREFIX, ROUND_2_KEY)}"
LIST_PATHS = ["/v1/rounds", "/v1/exchanges", "/v1/statements", "/v1/front-reports", "/v1/timeline", "/v1/tracks",
              "/v1/sources", "/v1/actors", "/v1/fronts", "/v1/changes"]


@dataclass
class Attempt:
    method: str
    path: str
    content: bytes = b""
    headers: dict[str, str | bytes] = field(default_factory=dict)


def bodies() -> Iterator[bytes]:
    valid = json.dumps(VALID_ROUND).encode()
    for cut in range(1, len(valid) - 1, 2):  # truncated JSON at every other byte
        yield valid[:cut]
    for name, wrong_values in WRONG.items():  # every field, with values wrong for it
        for wrong in wrong_values:
            yield json.dumps({**VALID_ROUND, name: wrong}).encode()
    yield json.dumps({**VALID_ROUND, "date": None}).encode()
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        yield valid.replace(b'"sequence": 3', b'"sequence": ' + literal)
        yield literal
    yield b'{"track": "' + b"a" * 70_000 + b'"}'  # over the 64 KiB body cap
    yield json.dumps({**VALID_ROUND, "summary": "y" * 4001}).encode()  # over max_length
    yield b"[" * 5000 + b"]" * 5000  # deep nesting
    yield json.dumps({**VALID_ROUND, "topics": [[[[["deep"]]]]]}).encode()
    for raw in (b"\xff\xfe\xfd", b'{"track": "\xc3\x28"}', b'{"summary": "\xed\xa0\x80"}', b"\x00" * 10):
        yield raw  # invalid UTF-8 and binary noise
    for top in (b"null", b"[]", b"1", b'"round"', b"true", b"", b" ", b"{}", b"{,}", b"{'a': 1}"):
        yield top
    yield json.dumps({**VALID_ROUND, "bogus": 1}).encode()
    yield json.dumps({**VALID_ROUND, "track": "no-such-track"}).encode()
    yield json.dumps({**VALID_ROUND, "end_date": "2026-06-01"}).encode()


# Values that are malformed for each query parameter (any parameter a path does not declare is
# malformed whatever its value).
BAD_QUERY_VALUES: dict[str, list[str]] = {
    "limit": ["", "-1", "0", "501", "abc", "1.5", "1e3", "%00", "x" * 3000, "%F0%9F%99%82"],
    "cursor": ["", "+", "a", "abc=", "%00", "x%20y", "%F0%9F%99%82", "a" * 3000, "a/b"],
    "from": ["", "2026-02-30", "abc", "2026-13-01", "1e3", "%00", "' OR 1=1 --"],
    "to": ["", "2026-02-30", "abc", "26-06-01"],
    "as_of": ["", "2026-02-30", "abc", "2026-06-07T25:00"],
    "track": ["", "UPPER", "a--b", "-a", "a%20b", "%00", "%F0%9F%99%82", "x" * 100],
    "actor": ["", "UPPER", "a_b", "x" * 100],
    "kind": ["", "nope", "ROUND", "%00"],
    "status": ["", "nope", "FROZEN"],
    "outcome": ["", "won", "null"],
}


VALID_EXCHANGE = {
    "track": "istanbul-talks", "date": "2026-06-20", "sources": ["brief-2026-06-07"], "status": "executed",
    "kind": "pow", "agreed_on": "2026-06-20", "executed_on": "2026-06-20", "returned_to_ukraine": 10, "returned_to_russia": 10,
}
EXCHANGE_WRONG: dict[str, list[object]] = {
    "status": ["done", "", 0, None],
    "kind": ["prisoners", "", 1],
    "returned_to_ukraine": [-1, 1.5, "10", 10_000_001, True, []],
    "returned_to_russia": [-5, "ten", {}],
    "executed_on": ["2026-06-19", "2026-02-30", 5],  # before agreed_on (below) or not a date
    "agreed_on": ["2026-06-21", "x"],  # after executed_on
    "round": ["rnd_0000000000000000", "rnd_xyz", 7],
}


def exchange_bodies() -> Iterator[bytes]:
    for name, wrong_values in EXCHANGE_WRONG.items():
        for wrong in wrong_values:
            yield json.dumps({**VALID_EXCHANGE, name: wrong}).encode()


def patches() -> Iterator[bytes]:
    """Corrections that must be refused: each wrong round value, with a reason."""
    for name, wrong_values in WRONG.items():
        for wrong in wrong_values:
            if name == "end_date" and wrong == "2026-06-19":
                wrong = "2026-06-01"  # round two is dated 2 June
            yield json.dumps({"reason": "battery", name: wrong}).encode()
    yield json.dumps({"name": "no reason"}).encode()
    yield json.dumps({"reason": "", "venue": "x"}).encode()
    yield json.dumps({"reason": "battery", "id": "rnd_0000000000000000"}).encode()


def queries() -> Iterator[str]:
    for path in LIST_PATHS:
        for name, values in BAD_QUERY_VALUES.items():
            for value in values:
                yield f"{path}?{name}={value}"
        yield f"{path}?limit=5&limit=6"
        yield f"{path}?unknown=1"
        yield f"{path}?LIMIT=5"


def attempts(write: str) -> Iterator[Attempt]:
    json_headers = {**bearer(write), "Content-Type": "application/json"}
    for content in bodies():
        yield Attempt("POST", "/v1/rounds", content, json_headers)
    for content in exchange_bodies():
        yield Attempt("POST", "/v1/exchanges", content, json_headers)
    for content in patches():
        yield Attempt("PATCH", ROUND_TWO, content, {**json_headers, "If-Match": "*"})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/xml", ""):
        yield Attempt("POST", "/v1/rounds", json.dumps(VALID_ROUND).encode(),
                      {**bearer(write), "Content-Type": content_type})
    for url in queries():
        yield Attempt("GET", url)
    for authorization in ("", "Bearer", "Bearer ", "Basic eDp5", "bearer plk_", "Bearer plk_zz_zz", write + "x",
                          "Bearer " + write[:-1], "Bearer " + write + " extra", "Token " + write):
        yield Attempt("POST", "/v1/rounds", json.dumps(VALID_ROUND).encode(),
                      {"Authorization": authorization, "Content-Type": "application/json"})
    for idempotency_key in ("", " ", "a" * 300, "tab\tkey", "ключ".encode()):
        # Non-ASCII bytes go out raw: a header is bytes on the wire whatever a client library prefers.
        yield Attempt("POST", "/v1/rounds", json.dumps({**VALID_ROUND, "bogus": True}).encode(),
                      {**json_headers, "Idempotency-Key": idempotency_key})
    for path in ("/v1/rounds/rnd_0000000000000000", "/v1/rounds/../../etc/passwd", "/v1/rounds/%00",
                 "/v1/actors/UPPER", "/v1/tracks/a--b", "/v1/nowhere", "/v1/rounds/" + "a" * 5000):
        yield Attempt("GET", path)
        yield Attempt("PATCH", path, b'{"reason": "x"}', {**json_headers, "If-Match": '"x"'})
        yield Attempt("DELETE", path, headers=bearer(write))
    for if_match in ("", "garbage", '"', "*x", 'W/"x"'):
        yield Attempt("PATCH", "/v1/tracks/istanbul-talks", b'{"reason": "bad precondition", "name": "X"}',
                      {**json_headers, "If-Match": if_match})


def table_counts(database_url: str) -> tuple[int, ...]:
    return tuple(query(database_url, f"SELECT COUNT(*) FROM {table}")[0][0]
                 for table in ("records", "revisions", "idempotency_entries"))


def test_malformed_requests_get_4xx_problems_and_write_nothing(seeded_url: str, keys: dict[str, str]) -> None:
    before = table_counts(seeded_url)
    app = create_app(Settings(database_url=seeded_url, rate_limit_per_minute=1_000_000))
    statuses: Counter[int] = Counter()
    failures = []
    with TestClient(app) as client:
        for attempt in attempts(keys["write"]):
            response = client.request(attempt.method, attempt.path, content=attempt.content or None,
                                      headers=attempt.headers)
            statuses[response.status_code] += 1
            problem = response.headers.get("content-type") == "application/problem+json"
            if not (400 <= response.status_code < 500 and problem):
                failures.append((attempt.method, attempt.path[:80], attempt.content[-90:], response.status_code))
    total = sum(statuses.values())
    print(f"bad-input battery: {total} requests, statuses {dict(sorted(statuses.items()))}")
    assert failures == [], '\n'.join(map(str, failures))
    assert total >= 1000
    assert table_counts(seeded_url) == before
