"""The 7 June 2026 brief as records: every fact present, every reference resolvable."""

import datetime as dt

import msgspec

from schemas.ids import ROUND_PREFIX, derived_id
from schemas.vocab import Coverage, DatePrecision, ExchangeStatus, Outcome, StatementKind
from seeds.brief import ROUND_2_KEY, brief_records


def test_every_brief_record_passes_its_schema() -> None:
    records = brief_records()
    for field in msgspec.structs.fields(records):
        for record in getattr(records, field.name):
            assert msgspec.convert(msgspec.to_builtins(record), type(record)) == record


def test_every_reference_in_the_brief_resolves() -> None:
    records = brief_records()
    actors = {a.id for a in records.actors}
    sources = {s.id for s in records.sources}
    tracks = {t.id for t in records.tracks}
    fronts = {f.id for f in records.fronts}
    events = [*records.rounds, *records.exchanges, *records.statements, *records.front_reports]
    assert all(set(e.sources) <= sources for e in events)
    assert all(r.track in tracks and set(r.mediators) <= actors for r in records.rounds)
    assert all(s.actor in actors and (s.track is None or s.track in tracks) for s in records.statements)
    assert all(f.front in fronts for f in records.front_reports)
    assert all(set(t.parties) | set(t.mediators) <= actors for t in records.tracks)


def test_round_two_agreed_the_swap_and_no_ceasefire() -> None:
    (round_two,) = [r for r in brief_records().rounds if r.sequence == 2]
    assert round_two.date == dt.date(2026, 6, 2)
    assert round_two.outcome is Outcome.PARTIAL and round_two.ceasefire_agreed is False
    (swap,) = brief_records().exchanges
    assert (swap.returned_to_ukraine, swap.returned_to_russia) == (1200, 1200)
    assert swap.status is ExchangeStatus.AGREED and swap.round == derived_id(ROUND_PREFIX, ROUND_2_KEY)


def test_round_one_is_implied_with_an_unknown_date() -> None:
    (round_one,) = [r for r in brief_records().rounds if r.sequence == 1]
    assert round_one.date is None and round_one.date_precision is DatePrecision.UNKNOWN
    assert round_one.reported_at == dt.date(2026, 6, 7)


def test_letter_and_rejection_are_statements() -> None:
    by_actor = {s.actor: s for s in brief_records().statements}
    letter, rejection = by_actor["zelensky"], by_actor["peskov"]
    assert letter.kind is StatementKind.PROPOSAL and letter.date == dt.date(2026, 6, 4)
    assert set(letter.venue_proposals) == {"Switzerland", "Turkey", "an Arab state"}
    assert letter.conditions == ["a full, unconditional ceasefire"]
    assert rejection.kind is StatementKind.REJECTION and "come to Moscow" in (rejection.quote or "")
    assert by_actor["russian-foreign-ministry"].quote == "propaganda"
    assert by_actor["rubio"].quote == "stands ready"
    assert {"kyiv-independent", "ea-worldview"} <= by_actor.keys()


def test_three_fronts_are_reported_frozen_on_the_brief_day() -> None:
    reports = brief_records().front_reports
    assert sorted(r.front for r in reports) == ["donetsk", "kherson", "zaporizhzhia"]
    assert all(r.status.value == "frozen" and r.date == dt.date(2026, 6, 7) for r in reports)


def test_istanbul_talks_are_observed_completely_for_the_week_the_brief_reports() -> None:
    (track,) = brief_records().tracks
    (period,) = track.coverage_periods
    assert (period.start, period.end) == (dt.date(2026, 6, 1), dt.date(2026, 6, 7))
    assert period.coverage is Coverage.COMPLETE and track.coverage is Coverage.COMPLETE
    assert period.basis is not None and "round 1 is implied and undated" in period.basis
