"""HTTP as clients expect it: HEAD, content negotiation, compression, caching, CORS, CSV cells,
and a problem `type` for each rule a schema-valid request can break."""

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
from helpers import bearer, running_server
from litestar import Litestar
from litestar.testing import TestClient

from api.collections import ALL
from api.controllers.common import ID_PATHS

Client = TestClient[Litestar]
ROUND = {"track": "istanbul-talks", "date": "2026-06-20", "sources": ["brief-2026-06-07"], "outcome": "none"}
PROBLEM = "urn:parley:problem:"


def example_id(collection: str) -> str:
    """The seeded record that the OpenAPI document uses as the path parameter's example."""
    parameter = ID_PATHS[collection].__metadata__[0]
    return str(parameter.examples[0].value)


def get_routes() -> list[str]:
    """A concrete path for every GET route except the forecasts (a cold fit takes seconds)."""
    paths = ["/health", "/schema/openapi.json", "/v1/timeline", "/v1/changes", "/v1/fronts/zaporizhzhia/intensity"]
    for collection in ALL:
        record = f"/v1/{collection.name}/{example_id(collection.name)}"
        paths += [f"/v1/{collection.name}", record, f"{record}/revisions"]
    return paths


# --- HEAD ------------------------------------------------------------------------------------


def test_head_answers_every_get_route_with_the_get_headers_and_no_body(client: Client) -> None:
    for path in get_routes():
        got, head = client.get(path), client.head(path)
        assert got.status_code == 200, (path, got.text)
        assert head.status_code == 200 and head.content == b"", (path, head.status_code)
        for name in ("content-type", "content-length", "etag", "cache-control", "link", "vary"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)


def test_head_of_an_unknown_record_is_404_and_allow_lists_head(client: Client) -> None:
    assert client.head("/v1/rounds/rnd_0123456789abcdef").status_code == 404
    allow = client.options("/v1/rounds/rnd_0123456789abcdef").headers["allow"]
    assert {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"} <= {m.strip() for m in allow.split(",")}
    refused = client.put("/v1/rounds")
    assert refused.status_code == 405 and "HEAD" in refused.headers.get("allow", ""), refused.headers


# --- content negotiation ------------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "expected"), [
    ("text/csv;q=0", "application/json"),
    ("text/csv;q=0, */*", "application/json"),
    ("text/*", "text/csv; charset=utf-8"),
    ("text/csv;q=0.5, application/json", "application/json"),
    ("application/x-ndjson;q=0.9, text/csv", "text/csv; charset=utf-8"),
    ("*/*;q=0.1, application/x-ndjson", "application/x-ndjson"),
    ("image/png", "application/json"),
])
def test_accept_quality_values_choose_the_format(client: Client, accept: str, expected: str) -> None:
    assert client.get("/v1/fronts", headers={"Accept": accept}).headers["content-type"] == expected


def test_csv_content_type_names_its_charset_once(client: Client) -> None:
    for path in ("/v1/rounds?format=csv", "/v1/rounds?format=csv&all=true", "/v1/timeline?format=csv&limit=5"):
        assert client.get(path).headers["content-type"] == "text/csv; charset=utf-8", path


# --- CSV cells ------------------------------------------------------------------------------


def test_csv_list_cells_keep_separators_inside_items_and_tell_empty_from_null(client: Client,
                                                                               keys: dict[str, str]) -> None:
    created = client.post("/v1/rounds", headers=bearer(keys["write"]), json={
        **ROUND, "external_id": "csv-cells-1", "topics": ["Donetsk; Luhansk", "neutrality"], "mediators": [],
    })
    assert created.status_code == 201, created.text
    body = client.get("/v1/rounds?format=csv&all=true").text
    row = next(r for r in csv.DictReader(io.StringIO(body)) if r["external_id"] == "csv-cells-1")
    assert json.loads(row["topics"]) == ["Donetsk; Luhansk", "neutrality"]
    assert row["mediators"] == "[]" and row["venue"] == ""  # an empty list, and a null


# --- Cache-Control ------------------------------------------------------------------------------


def test_cache_control_follows_what_a_read_depends_on(client: Client) -> None:
    track = "/v1/tracks/istanbul-talks"
    assert client.get(track).headers["cache-control"] == "no-cache"  # status is derived as of today
    assert client.get("/v1/tracks").headers["cache-control"] == "no-cache"
    assert client.get(f"{track}?as_of=2026-06-07").headers["cache-control"] == "max-age=300"
    assert client.get("/v1/rounds?as_of=2026-06-07").headers["cache-control"] == "max-age=300"
    assert client.get(f"{track}/revisions").headers["cache-control"] == "max-age=300"
    assert client.get("/v1/tracks?as_of=2999-01-01").headers["cache-control"] == "no-cache"
    assert client.get("/v1/rounds/rnd_0123456789abcdef").headers["cache-control"] == "no-cache"  # a 404


# --- problem types ------------------------------------------------------------------------------


def test_each_rule_has_its_own_problem_type(client: Client, keys: dict[str, str]) -> None:
    write = bearer(keys["write"])

    def problem_type(response: httpx.Response) -> str:
        assert response.headers["content-type"] == "application/problem+json", response.text
        return str(response.json()["type"]).removeprefix(PROBLEM)

    assert problem_type(client.post("/v1/rounds", headers=write, json={**ROUND, "track": "no-such-track"})) == \
        "unknown-reference"
    # A rule across fields, whether Litestar or the strict decoder meets it first.
    assert problem_type(client.post("/v1/rounds", headers=write, json={**ROUND, "date_precision": "unknown"})) == \
        "cross-field-rule"
    assert problem_type(client.post("/v1/rounds", headers=write, json={**ROUND, "end_date": "2026-06-01"})) == \
        "cross-field-rule"
    assert problem_type(client.post("/v1/rounds", headers=write, json={**ROUND, "sources": [3]})) == "validation"
    created = client.post("/v1/rounds", headers={**write, "Idempotency-Key": "k-1"}, json=ROUND)
    assert created.status_code == 201
    assert problem_type(client.post("/v1/rounds", headers={**write, "Idempotency-Key": "k-1"},
                                    json={**ROUND, "outcome": "partial"})) == "idempotency-key-reused"
    location = created.headers["location"]
    assert problem_type(client.patch(location, headers=write, json={"reason": "typo"})) == "if-match-required"
    assert problem_type(client.patch(location, headers={**write, "If-Match": '"stale"'},
                                     json={"reason": "typo"})) == "stale-if-match"
    assert problem_type(client.post("/v1/actors", headers=write,
                                    json={"id": "peskov", "name": "Dmitry Peskov", "kind": "person"})) == "already-exists"
    assert problem_type(client.post("/v1/actors/peskov/restore", headers=bearer(keys["admin"]),
                                    json={"reason": "never retracted"})) == "not-retracted"


def test_a_correction_or_restore_cannot_take_another_records_external_id(client: Client, keys: dict[str, str]) -> None:
    """Found by the schemathesis CLI: this was a 500 (the store's unique constraint)."""
    write, admin = bearer(keys["write"]), bearer(keys["admin"])
    first = client.post("/v1/rounds", headers=write, json={**ROUND, "external_id": "unique-1"})
    second = client.post("/v1/rounds", headers=write, json={**ROUND, "external_id": "unique-2"})
    taken = client.patch(second.headers["location"], headers={**write, "If-Match": "*"},
                         json={"reason": "wrong key", "external_id": "unique-1"})
    assert taken.status_code == 409 and taken.json()["type"] == PROBLEM + "already-exists", taken.text
    gone = client.delete(first.headers["location"], headers=admin, params={"reason": "duplicate"})
    assert gone.status_code == 204
    assert client.patch(second.headers["location"], headers={**write, "If-Match": "*"},
                        json={"reason": "takes the freed key", "external_id": "unique-1"}).status_code == 200
    back = client.post(first.headers["location"] + "/restore", headers=admin, json={"reason": "not a duplicate"})
    assert back.status_code == 409 and back.json()["type"] == PROBLEM + "already-exists", back.text


def test_a_json_integer_written_with_a_fraction_is_an_integer(client: Client, keys: dict[str, str]) -> None:
    """JSON Schema counts 2.0 as an integer, so a schema-valid client may send one."""
    created = client.post("/v1/rounds", headers=bearer(keys["write"]), json={**ROUND, "sequence": 2.0})
    assert created.status_code == 201, created.text
    assert created.json()["sequence"] == 2


def test_errors_name_the_parameter_the_client_sent(client: Client) -> None:
    errors = client.get("/v1/rounds?format=xml").json()["errors"]
    assert [e["field"] for e in errors] == ["format"]
    errors = client.get("/v1/rounds/not-an-id").json()["errors"]
    assert [e["field"] for e in errors] == ["round_id"]


# --- the same, as users run it ------------------------------------------------------------------


def test_a_real_server_speaks_http_as_clients_expect(seeded_url: str, keys: dict[str, str], tmp_path: Path) -> None:
    """Through `parley serve`: HEAD, q-values, compression (sizes printed for the record), CORS,
    Cache-Control, and a CSV export that `parley import` reads back unchanged."""
    with running_server(seeded_url) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        created = http.post("/v1/rounds", headers=bearer(keys["write"]), json={
            **ROUND, "external_id": "csv-cells-2", "topics": ["Donetsk; Luhansk", "neutrality"]})
        assert created.status_code == 201, created.text

        head = http.head("/v1/rounds?limit=200")
        assert head.status_code == 200 and head.content == b"" and head.headers["content-type"] == "application/json"

        assert http.get("/v1/fronts", headers={"Accept": "text/csv;q=0"}).headers["content-type"] == "application/json"
        assert http.get("/v1/fronts", headers={"Accept": "text/*"}).headers["content-type"] == "text/csv; charset=utf-8"

        sizes: dict[str, int] = {}
        page = http.get("/v1/rounds?limit=200").json()["items"]
        for encoding in ("identity", "gzip", "br"):
            with http.stream("GET", "/v1/rounds?limit=200", headers={"Accept-Encoding": encoding}) as response:
                raw = b"".join(response.iter_raw())
            assert response.headers.get("content-encoding", "identity") == encoding
            sizes[encoding] = len(raw)
            decoded = {"identity": lambda b: b, "gzip": gzip.decompress, "br": brotli.decompress}[encoding](raw)
            assert json.loads(decoded)["items"] == page
        print(f"\n/v1/rounds?limit=200: {sizes}")
        assert sizes["gzip"] < sizes["identity"] / 4 and sizes["br"] < sizes["gzip"]

        preflight = http.get("/v1/rounds?format=csv", headers={"Origin": "https://dashboard.example"})
        exposed = {h.strip().lower() for h in preflight.headers["access-control-expose-headers"].split(",")}
        assert {"link", "etag", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= exposed

        assert http.get("/v1/tracks/istanbul-talks").headers["cache-control"] == "no-cache"
        assert http.get("/v1/tracks/istanbul-talks?as_of=2026-06-07").headers["cache-control"] == "max-age=300"

        export = tmp_path / "rounds.csv"
        export.write_bytes(http.get("/v1/rounds?format=csv&all=true").content)
        imported = subprocess.run([sys.executable, "-m", "api.cli", "import", str(export), "--collection", "rounds"],
                                  env={**os.environ, "PARLEY_DATABASE_URL": seeded_url},
                                  capture_output=True, text=True, timeout=120)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        rows = sum(1 for _ in csv.DictReader(io.StringIO(export.read_text(encoding="utf-8"))))
        assert f"created 0, corrected 0, unchanged {rows}" in imported.stdout, imported.stdout
        stored: Any = http.get("/v1/rounds", params={"limit": 500}).json()["items"]
        assert [r["topics"] for r in stored if r["external_id"] == "csv-cells-2"] == [["Donetsk; Luhansk", "neutrality"]]
