"""A Hypothesis state machine over corrections, retractions and restores.

Invariants: a record's history only grows; a live record's GET equals its last revision; a
retracted record answers 404; a stale If-Match gets 412 and changes nothing.
"""

from typing import Any

from helpers import bearer
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings

KINDS = ["proposal", "acceptance", "rejection", "demand", "assessment", "mediation_offer"]


def test_history_state_machine(seeded_url: str, keys: dict[str, str]) -> None:
    app = create_app(Settings(database_url=seeded_url, rate_limit_per_minute=1_000_000))
    writer, admin = bearer(keys["write"]), bearer(keys["admin"])

    with TestClient(app) as client:

        class History(RuleBasedStateMachine):
            records = Bundle("records")

            def __init__(self) -> None:
                super().__init__()
                self.history_length: dict[str, int] = {}
                self.live: dict[str, bool] = {}
                self.old_tags: dict[str, str] = {}

            @rule(target=records, kind=st.sampled_from(KINDS), day=st.integers(1, 28))
            def create(self, kind: str, day: int) -> str:
                response = client.post("/v1/statements", headers=writer, json={
                    "actor": "peskov", "kind": kind, "date": f"2026-07-{day:02d}", "sources": ["brief-2026-06-07"]})
                assert response.status_code == 201, response.text
                location = response.headers["location"]
                self.history_length[location], self.live[location] = 1, True
                self.old_tags[location] = response.headers["etag"]
                return location

            @rule(location=records, summary=st.text(min_size=1, max_size=40).filter(str.strip))
            def correct(self, location: str, summary: str) -> None:
                current = client.get(location)
                if not self.live[location]:
                    assert current.status_code == 404
                    return
                response = client.patch(location, json={"reason": "state machine", "summary": summary},
                                        headers={**writer, "If-Match": current.headers["etag"]})
                assert response.status_code == 200, response.text
                assert response.json()["summary"] == summary
                self.old_tags[location] = current.headers["etag"]
                self.history_length[location] += 1

            @rule(location=records)
            def stale_correction(self, location: str) -> None:
                current = client.get(location)
                stale = self.old_tags[location]
                if not self.live[location] or current.headers["etag"] == stale:
                    return
                response = client.patch(location, json={"reason": "stale", "summary": "must not land"},
                                        headers={**writer, "If-Match": stale})
                assert response.status_code == 412
                assert client.get(location).json() == current.json()

            @rule(location=records)
            def retract(self, location: str) -> None:
                response = client.delete(f"{location}?reason=state%20machine", headers=admin)
                if self.live[location]:
                    assert response.status_code == 204
                    self.live[location] = False
                    self.history_length[location] += 1
                else:
                    assert response.status_code == 404

            @rule(location=records)
            def restore(self, location: str) -> None:
                response = client.post(f"{location}/restore", json={"reason": "state machine"}, headers=admin)
                if self.live[location]:
                    assert response.status_code == 409
                else:
                    assert response.status_code == 200
                    self.live[location] = True
                    self.history_length[location] += 1

            @invariant()
            def history_grows_and_get_is_the_last_revision(self) -> None:
                for location, expected in self.history_length.items():
                    history: list[dict[str, Any]] = client.get(f"{location}/revisions?limit=500").json()["items"]
                    assert len(history) == expected
                    assert [h["revision"] for h in history] == list(range(1, expected + 1))
                    response = client.get(location)
                    if self.live[location]:
                        assert response.json() == history[-1]["record"]
                    else:
                        assert response.status_code == 404 and history[-1]["operation"] == "delete"

        run_state_machine_as_test(
            History, settings=settings(max_examples=25, stateful_step_count=12, deadline=None, derandomize=True)
        )
