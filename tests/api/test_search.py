"""`?q=` full-text search on statements, rounds and the timeline (SQLite FTS5, PostgreSQL
full-text search), with the other filters, paging, `as_of`, and the write path keeping it current."""

from typing import Any

import pytest
from helpers import bearer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from api.store import search_expression

Client = TestClient[Litestar]


def items(client: Client, url: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def actors(client: Client, **params: str) -> list[str]:
    return [s["actor"] for s in items(client, "/v1/statements", **params)]


def test_q_finds_a_statement_by_its_quote_and_summary(client: Client) -> None:
    assert actors(client, q="come to Moscow") == ["peskov"]  # the quote
    assert actors(client, q="propaganda Western") == ["russian-foreign-ministry"]  # quote and summary


def test_q_ignores_case_and_word_endings(client: Client) -> None:
    assert "zelensky" in actors(client, q="CEASEFIRES")
    assert actors(client, q="dismissing letters") == actors(client, q="dismissed letter")


def test_q_needs_every_word_and_quotes_make_a_phrase(client: Client) -> None:
    assert actors(client, q="moscow come") == ["peskov"]
    assert actors(client, q='"moscow come"') == []
    assert actors(client, q='"come to moscow"') == ["peskov"]
    assert actors(client, q="moscow zebra") == []


def test_q_searches_notes_too(client: Client) -> None:
    assert actors(client, q="separately", track="istanbul-talks") == ["russian-foreign-ministry"]  # in its notes


def test_q_combines_with_actor_kind_track_and_as_of(client: Client) -> None:
    assert actors(client, actor="peskov", q="moscow", track="istanbul-talks") == ["peskov"]
    assert actors(client, actor="russia", q="ceasefire", track="istanbul-talks") == ["russian-foreign-ministry"]
    assert actors(client, q="ceasefire", kind="proposal", track="istanbul-talks") == ["zelensky"]
    assert actors(client, q="come to moscow", as_of="2026-06-06") == []  # reported on 7 June


def test_q_on_rounds_and_the_timeline(client: Client) -> None:
    assert [r["sequence"] for r in items(client, "/v1/rounds", q="swap", track="istanbul-talks")] == [2]
    kinds = {i["kind"] for i in items(client, "/v1/timeline", q="1,200 swap", track="istanbul-talks")}
    assert kinds == {"round", "exchange"}
    assert {i["kind"] for i in items(client, "/v1/timeline", q="frozen", kind="front_report")} == {"front_report"}


def test_q_pages_with_cursors_over_every_match_once(client: Client) -> None:
    everything = items(client, "/v1/timeline", q="ceasefire", limit="500")
    assert len(everything) > 3
    walked, url = [], "/v1/timeline?q=ceasefire&limit=2"
    while url:
        page = client.get(url).json()
        walked += page["items"]
        url = page["next"]
    assert [i["record"]["id"] for i in walked] == [i["record"]["id"] for i in everything]


def test_q_with_no_word_matches_nothing_and_a_long_q_is_a_problem(client: Client) -> None:
    assert items(client, "/v1/statements", q='"" * ( ) - : ^') == []
    response = client.get("/v1/statements", params={"q": "x" * 501})
    assert response.status_code == 400 and response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/statements?q=").status_code == 400


@pytest.mark.parametrize("q", ['"unbalanced', "ceasefire AND", "NOT ceasefire", "moscow OR", "col:umn", "pre*",
                               "NEAR(a b)", "a\x00b", "(((", "'; DROP TABLE records; --", "^start", "−minus", "-"])
def test_fts_syntax_is_read_as_plain_words(client: Client, q: str) -> None:
    assert client.get("/v1/statements", params={"q": q}).status_code == 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=80))
def test_any_q_is_answered_not_failed(client: Client, q: str) -> None:
    response = client.get("/v1/timeline", params={"q": q})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:  # only what the parameter's own schema rules out
        assert len(q) > 500 or not q


def test_search_expression_keeps_only_words() -> None:
    assert search_expression('Peskov "come to Moscow", ceasefire-talks') == '"Peskov" "come to Moscow" "ceasefire talks"'
    assert search_expression('AND OR NOT "*"') == '"AND" "OR" "NOT"'
    assert search_expression("!!! ---") is None


def test_corrections_retractions_and_restores_keep_the_index_current(client: Client, keys: dict[str, str]) -> None:
    write = bearer(keys["write"])
    created = client.post("/v1/statements", headers=write, json={
        "actor": "peskov", "kind": "assessment", "date": "2026-06-10", "sources": ["brief-2026-06-07"],
        "summary": "Peskov called the memorandum premature.",
    })
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    assert actors(client, q="memorandum") == ["peskov"]
    corrected = client.patch(url, json={"reason": "wording fixed", "summary": "Peskov called the roadmap premature."},
                             headers={**write, "If-Match": created.headers["etag"]})
    assert corrected.status_code == 200
    assert actors(client, q="memorandum") == [] and actors(client, q="roadmap") == ["peskov"]
    admin = bearer(keys["admin"])
    retracted = client.delete(url, params={"reason": "duplicate"}, headers={**admin, "If-Match": corrected.headers["etag"]})
    assert retracted.status_code == 204, retracted.text
    assert actors(client, q="roadmap") == []
    assert client.post(f"{url}/restore", json={"reason": "not a duplicate"}, headers=admin).status_code == 200
    assert actors(client, q="roadmap") == ["peskov"]


def test_a_failed_write_leaves_the_index_as_it_was(client: Client, keys: dict[str, str]) -> None:
    body = {"actor": "no-such-actor", "kind": "assessment", "date": "2026-06-10", "sources": ["brief-2026-06-07"],
            "summary": "Zanzibar."}
    assert client.post("/v1/statements", json=body, headers=bearer(keys["write"])).status_code == 422
    assert actors(client, q="zanzibar") == []


def test_a_nul_in_the_text_is_stored_corrected_and_searched_around(client: Client, keys: dict[str, str]) -> None:
    write = bearer(keys["write"])
    created = client.post("/v1/statements", headers=write, json={
        "actor": "peskov", "kind": "assessment", "date": "2026-06-10", "sources": ["brief-2026-06-07"],
        "summary": "Peskov\u0000spoke of a moratorium.", "quote": "\\u0000 literal", "notes": "\u0000\u0000",
    })
    assert created.status_code == 201, created.text
    assert actors(client, q="moratorium") == ["peskov"]
    assert actors(client, q='"u0000 literal"') == ["peskov"]  # an escaped backslash, then text
    corrected = client.patch(created.headers["location"], headers={**write, "If-Match": created.headers["etag"]},
                             json={"reason": "typo", "summary": "Peskov\u0000spoke of an armistice."})
    assert corrected.status_code == 200, corrected.text
    assert actors(client, q="armistice") == ["peskov"] and actors(client, q="moratorium") == []
