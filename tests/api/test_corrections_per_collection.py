"""Every collection takes a one-field correction and a retract → restore → read round trip.

A record's own fields must survive both: the write path once stripped `status` (an exchange's
or a front report's own field) and `id` (a reference record's slug) as if the server set them.
"""

import pytest
from helpers import bearer
from litestar import Litestar
from litestar.testing import TestClient

from api.controllers.common import ID_PATHS
from schemas.ids import derived_id

Client = TestClient[Litestar]


def seeded_id(name: str) -> str:
    """The id of the seeded brief record that each collection's OpenAPI example names."""
    return ID_PATHS[name].__metadata__[0].examples[0].value


# (collection, a text field a correction may change alone)
ONE_FIELD = [
    ("actors", "role"),
    ("sources", "title"),
    ("fronts", "description"),
    ("tracks", "description"),
    ("rounds", "summary"),
    ("exchanges", "summary"),
    ("statements", "summary"),
    ("front-reports", "summary"),
]


@pytest.mark.parametrize(("collection", "field"), ONE_FIELD)
def test_a_one_field_correction_changes_only_that_field(
    client: Client, keys: dict[str, str], collection: str, field: str
) -> None:
    location = f"/v1/{collection}/{seeded_id(collection)}"
    before = client.get(location)
    corrected = client.patch(
        location, json={"reason": "wording checked against the source", field: "Corrected text."},
        headers={**bearer(keys["write"]), "If-Match": before.headers["etag"]},
    )
    assert corrected.status_code == 200, corrected.text
    after = corrected.json()
    assert after[field] == "Corrected text." and after["revision"] == before.json()["revision"] + 1
    unchanged = {k: v for k, v in before.json().items() if k not in (field, "revision", "recorded_at")}
    assert {k: after[k] for k in unchanged} == unchanged


@pytest.mark.parametrize("collection", [name for name, _ in ONE_FIELD])
def test_a_retracted_record_can_be_restored_and_read_again(
    client: Client, keys: dict[str, str], collection: str
) -> None:
    location = f"/v1/{collection}/{seeded_id(collection)}"
    before = client.get(location).json()
    admin = bearer(keys["admin"])
    assert client.delete(f"{location}?reason=duplicate entry", headers=admin).status_code == 204
    assert client.get(location).status_code == 404
    restored = client.post(f"{location}/restore", json={"reason": "not a duplicate after all"}, headers=admin)
    assert restored.status_code == 200, restored.text
    read = client.get(location)
    assert read.status_code == 200 and read.json() == restored.json()
    kept = {k: v for k, v in before.items() if k not in ("revision", "recorded_at")}
    assert {k: read.json()[k] for k in kept} == kept
    history = client.get(f"{location}/revisions").json()["items"]
    assert [h["operation"] for h in history][-2:] == ["delete", "restore"]


def test_the_seeded_ids_are_the_brief_records() -> None:
    # The examples double as fixtures here; make sure they still name seeded brief records.
    assert seeded_id("rounds") == derived_id("rnd", "brief-2026-06-07:istanbul-round-2")
    assert seeded_id("tracks") == "istanbul-talks"
