"""Lists as CSV, NDJSON and Parquet, one page or everything, read back with polars."""

import io
import json
from typing import Any

import polars as pl
import pytest
from litestar import Litestar
from litestar.testing import TestClient

Client = TestClient[Litestar]
COLLECTIONS = ["actors", "sources", "fronts", "tracks", "rounds", "exchanges", "statements", "front-reports",
               "timeline"]


def everything_as_json(client: Client, path: str, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"{path}?all=true{query}")
    assert response.status_code == 200
    return response.json()["items"]


def read(fmt: str, content: bytes) -> pl.DataFrame:
    if fmt == "csv":
        return pl.read_csv(io.BytesIO(content), infer_schema=False)
    if fmt == "ndjson":
        return pl.read_ndjson(io.BytesIO(content), infer_schema_length=None)
    return pl.read_parquet(io.BytesIO(content))


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "parquet"])
@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_format_reads_back_with_every_record(client: Client, collection: str, fmt: str) -> None:
    path = f"/v1/{collection}"
    expected = everything_as_json(client, path)
    response = client.get(f"{path}?all=true&format={fmt}")
    assert response.status_code == 200
    table = read(fmt, response.content)
    assert table.height == len(expected)
    ids = [item["record"]["id"] if collection == "timeline" else item["id"] for item in expected]
    column = table["record"].struct.field("id") if collection == "timeline" and fmt == "ndjson" else table["id"]
    assert column.to_list() == ids


def test_csv_columns_follow_the_schema_and_write_lists_as_json(client: Client) -> None:
    table = read("csv", client.get("/v1/rounds?track=istanbul-talks&format=csv").content)
    round_two = table.filter(pl.col("sequence") == "2").row(0, named=True)
    assert round_two["sources"] == '["brief-2026-06-07","kyiv-independent-2026-06-07"]'
    assert round_two["outcome"] == "partial" and round_two["date"] == "2026-06-02"
    assert table.columns[:3] == ["date", "date_precision", "reported_at"]


def test_parquet_keeps_types(client: Client) -> None:
    table = read("parquet", client.get("/v1/exchanges?all=true&format=parquet").content)
    assert table.schema["returned_to_ukraine"] == pl.Int64
    assert table.schema["sources"] == pl.List(pl.String)
    assert table.schema["date"] == pl.Date
    assert table["returned_to_ukraine"].drop_nulls().min() >= 0


def test_timeline_table_names_record_kinds(client: Client) -> None:
    table = read("csv", client.get("/v1/timeline?all=true&format=csv&track=istanbul-talks").content)
    assert set(table["kind"].unique()) == {"round", "exchange", "statement"}
    assert set(table.filter(pl.col("kind") == "statement")["subkind"].unique()) >= {"proposal", "rejection"}


def test_filters_and_as_of_apply_to_exports(client: Client) -> None:
    expected = everything_as_json(client, "/v1/statements", "&track=istanbul-talks&as_of=2026-06-05")
    table = read("csv", client.get("/v1/statements?all=true&format=csv&track=istanbul-talks&as_of=2026-06-05").content)
    assert table["id"].to_list() == [s["id"] for s in expected] and table.height == 1


def test_accept_header_picks_the_format(client: Client) -> None:
    response = client.get("/v1/fronts", headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert read("csv", response.content)["id"].to_list() == ["donetsk", "kherson", "zaporizhzhia"]
    assert client.get("/v1/fronts", headers={"Accept": "application/x-ndjson"}).headers["content-type"] == \
        "application/x-ndjson"
    assert client.get("/v1/fronts", headers={"Accept": "image/png"}).headers["content-type"] == "application/json"
    assert client.get("/v1/fronts?format=json", headers={"Accept": "text/csv"}).headers["content-type"] == \
        "application/json"


def test_a_page_in_another_format_links_to_the_next(client: Client) -> None:
    first = client.get("/v1/rounds?limit=10&format=ndjson")
    assert len(first.content.splitlines()) == 10
    link = first.headers["link"]
    next_url = link[link.index("<") + 1 : link.index(">")]
    second = client.get(next_url)
    pages = [json.loads(line)["id"] for line in first.content.splitlines() + second.content.splitlines()]
    expected = [r["id"] for r in client.get("/v1/rounds?limit=20").json()["items"]]
    assert pages == expected


def test_all_for_json_streams_every_record_with_no_next(client: Client) -> None:
    body = client.get("/v1/sources?all=true&limit=7").json()
    assert body["next"] is None and len(body["items"]) == len({s["id"] for s in body["items"]}) > 250


def test_tracks_export_with_derived_status(client: Client) -> None:
    table = read("csv", client.get("/v1/tracks?format=csv&as_of=2026-06-07&status=active").content)
    assert table["id"].to_list() == ["istanbul-talks"] and table["status"].to_list() == ["active"]


@pytest.mark.parametrize("fmt", ["json", "csv", "ndjson", "parquet"])
def test_whole_results_span_many_batches(client: Client, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.exports.BATCH_SIZE", 17)
    expected = [r["id"] for r in client.get("/v1/rounds?limit=500").json()["items"]]
    assert len(expected) > 5 * 17
    response = client.get(f"/v1/rounds?all=true&format={fmt}")
    if fmt == "json":
        ids = [r["id"] for r in response.json()["items"]]
    else:
        ids = read(fmt, response.content)["id"].to_list()
    assert ids == expected
