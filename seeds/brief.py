"""The 7 June 2026 brief (`brief_2026-06-07.txt`) as Parley records.

Every fact in the brief is one record and cites the sources the brief names. The brief gives
no URLs, so sources carry outlet, title and date only. Where the brief leaves a date open
(round 1, Rubio's remark) the record says so through `date_precision` and `notes` rather than
inventing a day.
"""

import datetime as dt
from pathlib import Path

from schemas.ids import ROUND_PREFIX, derived_id
from schemas.records import (
    ActorCreate,
    CoveragePeriod,
    ExchangeCreate,
    FrontCreate,
    FrontReportCreate,
    RoundCreate,
    SourceCreate,
    StatementCreate,
    TrackCreate,
)
from schemas.vocab import (
    ActorKind,
    Confidence,
    Coverage,
    DatePrecision,
    ExchangeKind,
    ExchangeStatus,
    FrontStatus,
    Outcome,
    Side,
    StatementKind,
    TrackFormat,
)
from seeds.recordset import RecordSet

BRIEF_FILE = Path(__file__).parent / "data" / "brief_2026-06-07.txt"
BRIEF_DAY = dt.date(2026, 6, 7)
ROUND_2_DAY = dt.date(2026, 6, 2)
LETTER_DAY = dt.date(2026, 6, 4)

# External ids name each record by the brief it came from, so re-seeding matches them.
ROUND_1_KEY = "brief-2026-06-07:istanbul-round-1"
ROUND_2_KEY = "brief-2026-06-07:istanbul-round-2"

BRIEF = "brief-2026-06-07"
KYIV_INDEPENDENT = "kyiv-independent-2026-06-07"
AL_JAZEERA = "al-jazeera-2026-06-07"
EA_WORLDVIEW = "ea-worldview-2026-06-07"

ACTORS = [
    ActorCreate(id="russia", name="Russia", kind=ActorKind.STATE),
    ActorCreate(id="ukraine", name="Ukraine", kind=ActorKind.STATE),
    ActorCreate(id="turkey", name="Turkey", kind=ActorKind.STATE),
    ActorCreate(id="united-states", name="United States", kind=ActorKind.STATE),
    ActorCreate(id="zelensky", name="Volodymyr Zelensky", kind=ActorKind.PERSON, affiliation="ukraine",
                role="President of Ukraine"),
    ActorCreate(id="putin", name="Vladimir Putin", kind=ActorKind.PERSON, affiliation="russia",
                role="President of Russia"),
    ActorCreate(id="peskov", name="Dmitry Peskov", kind=ActorKind.PERSON, affiliation="russia",
                role="Presidential Press Secretary"),
    ActorCreate(id="russian-foreign-ministry", name="Ministry of Foreign Affairs of Russia",
                kind=ActorKind.ORGANISATION, affiliation="russia"),
    ActorCreate(id="rubio", name="Marco Rubio", kind=ActorKind.PERSON, affiliation="united-states",
                role="US Secretary of State"),
    ActorCreate(id="kyiv-independent", name="Kyiv Independent", kind=ActorKind.MEDIA, affiliation="ukraine"),
    ActorCreate(id="al-jazeera", name="Al Jazeera", kind=ActorKind.MEDIA),
    ActorCreate(id="ea-worldview", name="EA WorldView", kind=ActorKind.MEDIA),
]

SOURCES = [
    SourceCreate(id=BRIEF, outlet="Peace Processes brief", published_on=BRIEF_DAY,
                 title="Russia Dismisses Zelensky's Open Letter: Peskov Says 'Come to Moscow'; Kremlin Refuses "
                       "Neutral-Country Meeting Proposal; Ukraine War Diplomatic Track Remains Frozen"),
    SourceCreate(id=KYIV_INDEPENDENT, outlet="Kyiv Independent", published_on=BRIEF_DAY,
                 title="Russia dismisses Zelensky open letter — Peskov says 'come to Moscow'; "
                       "Ukraine diplomatic track remains frozen"),
    SourceCreate(id=AL_JAZEERA, outlet="Al Jazeera", published_on=BRIEF_DAY,
                 title="Zelensky asked Putin for a meeting — Russia's rejection leaves Ukraine peace track frozen"),
    SourceCreate(id=EA_WORLDVIEW, outlet="EA WorldView", published_on=BRIEF_DAY,
                 title="EA WorldView analysis of 7 June 2026 (cited in the brief; headline not given)"),
]

FRONTS = [
    FrontCreate(id="zaporizhzhia", name="Zaporizhzhia axis", oblasts=["Zaporizhzhia"]),
    FrontCreate(id="donetsk", name="Donetsk axis", oblasts=["Donetsk"]),
    FrontCreate(id="kherson", name="Kherson axis", oblasts=["Kherson"]),
]

TRACKS = [
    TrackCreate(
        id="istanbul-talks", name="Istanbul talks (2026)", parties=["russia", "ukraine"], mediators=["turkey"],
        format=TrackFormat.MEDIATED,
        coverage_periods=[CoveragePeriod(
            start=dt.date(2026, 6, 1), end=BRIEF_DAY, coverage=Coverage.COMPLETE,
            basis="The 7 June 2026 brief reports that week; round 1 is implied and undated.",
        )],
        description="Direct Russia–Ukraine delegation talks hosted by Turkey in Istanbul.",
    )
]

ROUNDS = [
    RoundCreate(
        track="istanbul-talks", sequence=1, date=None, date_precision=DatePrecision.UNKNOWN, reported_at=BRIEF_DAY,
        venue="Istanbul, Turkey", mediators=["turkey"], outcome=Outcome.UNKNOWN, external_id=ROUND_1_KEY,
        sources=[BRIEF], confidence=Confidence.MEDIUM,
        summary="The first Istanbul round, implied by the brief's 'Istanbul Round 2'.",
        notes="The brief names no date, venue details or outcome for round 1.",
    ),
    RoundCreate(
        track="istanbul-talks", sequence=2, date=ROUND_2_DAY, venue="Istanbul, Turkey", mediators=["turkey"],
        topics=["prisoner exchange", "ceasefire"], outcome=Outcome.PARTIAL, ceasefire_agreed=False,
        agreed_to_meet_again=False, external_id=ROUND_2_KEY, sources=[BRIEF, KYIV_INDEPENDENT],
        summary="Istanbul round 2: a 1,200-for-1,200 POW swap agreed; no ceasefire.",
        notes="A third round is 'theoretically possible' but needs Russia to agree to a venue and an agenda, "
              "both absent as of 7 June 2026.",
    ),
]

EXCHANGES = [
    ExchangeCreate(
        track="istanbul-talks", round=derived_id(ROUND_PREFIX, ROUND_2_KEY), kind=ExchangeKind.POW,
        status=ExchangeStatus.AGREED, date=ROUND_2_DAY, agreed_on=ROUND_2_DAY, returned_to_ukraine=1200,
        returned_to_russia=1200, mediators=["turkey"], external_id="brief-2026-06-07:istanbul-round-2-pow-swap",
        sources=[BRIEF, KYIV_INDEPENDENT],
        summary="1,200-for-1,200 prisoner-of-war swap agreed at Istanbul round 2; execution not reported by 7 June.",
    )
]

STATEMENTS = [
    StatementCreate(
        actor="zelensky", track="istanbul-talks", kind=StatementKind.PROPOSAL, leader_level=True, date=LETTER_DAY,
        venue_proposals=["Switzerland", "Turkey", "an Arab state"], conditions=["a full, unconditional ceasefire"],
        external_id="brief-2026-06-07:zelensky-open-letter", sources=[BRIEF, AL_JAZEERA, KYIV_INDEPENDENT],
        summary="Open letter proposing a face-to-face leaders' meeting with Putin in a neutral country, "
                "conditioned on a full, unconditional ceasefire.",
    ),
    StatementCreate(
        actor="peskov", track="istanbul-talks", kind=StatementKind.REJECTION, leader_level=True, date=BRIEF_DAY,
        venue_proposals=["Moscow"], quote="If Zelensky wants to meet with Putin, he can come to Moscow",
        external_id="brief-2026-06-07:peskov-come-to-moscow", sources=[BRIEF, KYIV_INDEPENDENT, AL_JAZEERA],
        summary="The Kremlin formally dismissed the open letter and refused a neutral-country meeting.",
    ),
    StatementCreate(
        actor="russian-foreign-ministry", track="istanbul-talks", kind=StatementKind.REJECTION, date=BRIEF_DAY,
        quote="propaganda", conditions=[], external_id="brief-2026-06-07:mfa-propaganda",
        sources=[BRIEF], confidence=Confidence.MEDIUM,
        summary="The Foreign Ministry called the letter propaganda aimed at Western audiences, noting its "
                "ceasefire condition, which Moscow has consistently rejected.",
        notes="The brief says 'separately' without a date; dated to the brief's day.",
    ),
    StatementCreate(
        actor="rubio", track="istanbul-talks", kind=StatementKind.ASSESSMENT, date=dt.date(2026, 6, 1),
        date_precision=DatePrecision.MONTH, reported_at=BRIEF_DAY, quote="stands ready",
        external_id="brief-2026-06-07:rubio-stands-ready", sources=[BRIEF],
        summary="Washington 'stands ready' but sees no imminent breakthrough; reduced US urgency after round 2.",
        notes="Made between 2 and 7 June 2026 ('after Istanbul Round 2'); the brief gives no day.",
    ),
    StatementCreate(
        actor="kyiv-independent", track="istanbul-talks", kind=StatementKind.ASSESSMENT, date=BRIEF_DAY,
        external_id="brief-2026-06-07:kyiv-independent-analysis", sources=[KYIV_INDEPENDENT],
        summary="Peskov's response reflects Russia's unchanged position: no ceasefire that leaves Ukrainian forces "
                "in place, and the post-2022 territorial situation treated as a fait accompli.",
    ),
    StatementCreate(
        actor="ea-worldview", kind=StatementKind.ASSESSMENT, date=BRIEF_DAY,
        external_id="brief-2026-06-07:ea-worldview-analysis", sources=[EA_WORLDVIEW],
        summary="The front line remains largely frozen despite hostilities on three axes (Zaporizhzhia, Donetsk, "
                "Kherson); neither side has achieved a decisive breakthrough as the summer fighting season begins.",
    ),
]

FRONT_REPORTS = [
    FrontReportCreate(
        front=front.id, date=BRIEF_DAY, status=FrontStatus.FROZEN, initiative=Side.NONE,
        external_id=f"brief-2026-06-07:front-{front.id}", sources=[EA_WORLDVIEW, BRIEF],
        summary="Largely frozen; hostilities ongoing; no decisive breakthrough by either side.",
    )
    for front in FRONTS
]


def brief_records() -> RecordSet:
    """Every record the brief yields."""
    return RecordSet(
        actors=ACTORS, sources=SOURCES, fronts=FRONTS, tracks=TRACKS, rounds=ROUNDS, exchanges=EXCHANGES,
        statements=STATEMENTS, front_reports=FRONT_REPORTS,
    )
