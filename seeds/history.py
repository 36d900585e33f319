"""Map the history CSVs in `seeds/data/timeline_*.csv` to Parley create-records.

Each CSV row (one event) becomes exactly one RoundCreate, ExchangeCreate or StatementCreate;
the actors, sources and tracks those records cite are derived from the same rows. The dataset's
conventions are documented in `seeds/data/timeline_notes.md` and
`seeds/data/timeline_tcg_normandy_2015_2022_notes.md`.

Three optional side tables beside them refine the mapping, each when present:
`actors.csv` (people and bodies the alias table lacks, with their affiliation),
`coverage_periods.csv` (what the history observed of each track, and how completely) and
`exchange_claims.csv` (each side's own figures for an exchange). Without them the mapping is
what it was before they existed.

`map_history` is pure (no I/O) and deterministic: output lists are sorted by id / external_id,
so two runs over the same rows encode to the same bytes.
"""

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar
from urllib.parse import urlsplit

import msgspec
import polars as pl

from schemas.records import (
    ActorCreate,
    CoveragePeriod,
    ExchangeClaim,
    ExchangeCreate,
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
    Outcome,
    RoundStatus,
    StatementKind,
    TrackFormat,
)

DEFAULT_DATA_DIR = Path(__file__).parent / "data"
CSV_GLOB = "timeline_*.csv"

COLUMNS = (
    "id", "track", "event_type", "date", "date_precision", "end_date", "location", "mediator",
    "parties", "summary", "outcome", "pow_released_ukraine", "pow_released_russia", "source_url",
    "source_title", "confidence", "notes",
)  # fmt: skip
# Optional columns after `notes` (blank = the default): a round's status (held, announced,
# cancelled) and a statement's speaker (an actor slug; else the first party named).
OPTIONAL_COLUMNS = ("round_status", "speaker")

ACTORS_FILE, COVERAGE_FILE, CLAIMS_FILE = "actors.csv", "coverage_periods.csv", "exchange_claims.csv"
SIDE_COLUMNS = {
    ACTORS_FILE: ("id", "name", "kind", "affiliation", "role"),
    COVERAGE_FILE: ("track", "start", "end", "coverage", "basis"),
    CLAIMS_FILE: ("exchange", "claimant", "returned_to_ukraine", "returned_to_russia", "source_url",
                  "source_title", "notes"),
}

Row = Mapping[str, str | None]


class SideTables(NamedTuple):
    """The optional side tables, each as rows of strings (blank -> None), or None when absent."""

    actors: list[dict[str, str | None]] | None = None
    coverage_periods: list[dict[str, str | None]] | None = None
    exchange_claims: list[dict[str, str | None]] | None = None


class HistoryRecords(msgspec.Struct):
    actors: list[ActorCreate]
    sources: list[SourceCreate]
    tracks: list[TrackCreate]
    rounds: list[RoundCreate]
    exchanges: list[ExchangeCreate]
    statements: list[StatementCreate]


# --- actors -----------------------------------------------------------------------------------

# Every actor the alias table can produce. DPR/LPR are unrecognised entities, hence organisation.
ACTORS: dict[str, tuple[str, ActorKind]] = {
    "russia": ("Russia", ActorKind.STATE),
    "ukraine": ("Ukraine", ActorKind.STATE),
    "france": ("France", ActorKind.STATE),
    "germany": ("Germany", ActorKind.STATE),
    "italy": ("Italy", ActorKind.STATE),
    "belarus": ("Belarus", ActorKind.STATE),
    "turkey": ("Turkey", ActorKind.STATE),
    "uae": ("United Arab Emirates", ActorKind.STATE),
    "saudi-arabia": ("Saudi Arabia", ActorKind.STATE),
    "qatar": ("Qatar", ActorKind.STATE),
    "switzerland": ("Switzerland", ActorKind.STATE),
    "denmark": ("Denmark", ActorKind.STATE),
    "malta": ("Malta", ActorKind.STATE),
    "hungary": ("Hungary", ActorKind.STATE),
    "israel": ("Israel", ActorKind.STATE),
    "china": ("China", ActorKind.STATE),
    "india": ("India", ActorKind.STATE),
    "brazil": ("Brazil", ActorKind.STATE),
    "south-africa": ("South Africa", ActorKind.STATE),
    "united-states": ("United States", ActorKind.STATE),
    "vatican": ("Holy See (Vatican)", ActorKind.STATE),
    "canada": ("Canada", ActorKind.STATE),
    "norway": ("Norway", ActorKind.STATE),
    "poland": ("Poland", ActorKind.STATE),
    "osce": ("Organization for Security and Co-operation in Europe", ActorKind.ORGANISATION),
    "un": ("United Nations", ActorKind.ORGANISATION),
    "un-security-council": ("UN Security Council", ActorKind.ORGANISATION),
    "iaea": ("International Atomic Energy Agency", ActorKind.ORGANISATION),
    "icrc": ("International Committee of the Red Cross", ActorKind.ORGANISATION),
    "eu": ("European Union", ActorKind.ORGANISATION),
    "g7": ("Group of Seven", ActorKind.ORGANISATION),
    "russian-orthodox-church": ("Russian Orthodox Church", ActorKind.ORGANISATION),
    "african-peace-mission": ("African leaders' peace mission", ActorKind.ORGANISATION),
    "normandy-four": ("Normandy Four", ActorKind.ORGANISATION),
    "trilateral-contact-group": ("Trilateral Contact Group", ActorKind.ORGANISATION),
    "dpr": ("Donetsk People's Republic (self-proclaimed)", ActorKind.ORGANISATION),
    "lpr": ("Luhansk People's Republic (self-proclaimed)", ActorKind.ORGANISATION),
}

# Names as they appear in `parties` / `mediator` (case-sensitive) -> actor slugs. The TCG's
# "representatives of certain areas of Donetsk and Luhansk" (ORDLO, "separatist representatives")
# were the DPR and LPR envoys (TCG-101: Pushilin and Deynego), so those phrases map to both.
ALIASES: dict[str, tuple[str, ...]] = {
    "Russia": ("russia",),
    "Ukraine": ("ukraine",),
    "France": ("france",),
    "Germany": ("germany",),
    "Italy": ("italy",),
    "Belarus": ("belarus",),
    "Turkey": ("turkey",),
    "Türkiye": ("turkey",),
    "United Arab Emirates": ("uae",),
    "UAE": ("uae",),
    "Saudi Arabia": ("saudi-arabia",),
    "Qatar": ("qatar",),
    "Switzerland": ("switzerland",),
    "Denmark": ("denmark",),
    "Malta": ("malta",),
    "Hungary": ("hungary",),
    "Israel": ("israel",),
    "China": ("china",),
    "India": ("india",),
    "Brazil": ("brazil",),
    "South Africa": ("south-africa",),
    "United States": ("united-states",),
    "US": ("united-states",),
    "USA": ("united-states",),
    "Vatican": ("vatican",),
    "Canada": ("canada",),
    "Norway": ("norway",),
    "Poland": ("poland",),
    "Holy See": ("vatican",),
    "OSCE": ("osce",),
    "UN": ("un",),
    "United Nations": ("un",),
    "UN Security Council": ("un-security-council",),
    "IAEA": ("iaea",),
    "ICRC": ("icrc",),
    "EU": ("eu",),
    "G7": ("g7",),
    "Russian Orthodox Church": ("russian-orthodox-church",),
    "African leaders' mission": ("african-peace-mission",),
    "African delegation": ("african-peace-mission",),
    "Normandy Four": ("normandy-four",),
    "TCG": ("trilateral-contact-group",),
    "Trilateral Contact Group": ("trilateral-contact-group",),
    "DPR": ("dpr",),
    "LPR": ("lpr",),
    "ORDLO": ("dpr", "lpr"),
    "separatist representatives": ("dpr", "lpr"),
    "certain areas of Donetsk and Luhansk": ("dpr", "lpr"),
    "non-government-controlled areas": ("dpr", "lpr"),
}

# Longest alias first, so "UN Security Council" wins over "UN" at the same position.
_ALIAS_RE = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(a) for a in sorted(ALIASES, key=len, reverse=True)) + r")(?!\w)"
)
# "Russia not invited", "(Russia absent)", "- Ukraine not present": a named non-participant.
_NEGATED_RE = re.compile(r"\b[A-Z][A-Za-z]+ (?:not invited|not present|absent)\b")
_PARENS_RE = re.compile(r"\([^()]*\)")


def actor_slugs(text: str | None) -> list[str]:
    """Actor slugs named in a `parties` or `mediator` cell, in order of first mention.

    Parenthesised text usually names people or lists members ("African leaders' mission
    (South Africa, Senegal, ...)"), so it is read only when the text outside names nobody
    ("Diplomatic advisers of the four leaders (Russia: Surkov; Ukraine: ...)").
    """
    if not text:
        return []
    text = _NEGATED_RE.sub(" ", text)
    found = _scan(_PARENS_RE.sub(" ", text)) or _scan(text)
    return list(dict.fromkeys(found))


def _scan(text: str) -> list[str]:
    return [slug for m in _ALIAS_RE.finditer(text) for slug in ALIASES[m.group(1)]]


# --- tracks -----------------------------------------------------------------------------------


class TrackInfo(NamedTuple):
    name: str
    format: TrackFormat
    coverage: Coverage
    description: str | None


# Coverage per the notes files: timeline_tcg_normandy_2015_2022_notes.md, "Coverage, for
# modelling" (minsk-tcg and normandy-format partial even after the 2015-2022 file; the other
# tracks milestones, except pow-exchanges, partial, and black-sea-grain, complete) and
# timeline_notes.md section 2 (pow-exchanges: 44 exchange rows against ~60 exchanges to 2024).
TRACKS: dict[str, TrackInfo] = {
    "minsk-tcg": TrackInfo(
        "Trilateral Contact Group (Minsk)", TrackFormat.MEDIATED, Coverage.PARTIAL,
        "Routine rounds mostly present; 2017, 2019 and 2021 are thin and seven months have no row.",
    ),
    "normandy-format": TrackInfo(
        "Normandy format", TrackFormat.MEDIATED, Coverage.PARTIAL,
        "Summits, ministers' and advisers' meetings; some 2016-2021 meetings and video calls missing.",
    ),
    "pow-exchanges": TrackInfo(
        # Mediated: every 2024 swap but one was UAE-brokered (timeline_notes.md section 2).
        "Prisoner exchanges", TrackFormat.MEDIATED, Coverage.PARTIAL,
        "About 43 of the roughly 60 exchanges to the end of 2024; mainly small 2022 swaps missing.",
    ),
    "black-sea-grain": TrackInfo(
        "Black Sea Grain Initiative", TrackFormat.MEDIATED, Coverage.COMPLETE,
        "Complete for its milestones, which are its rounds.",
    ),
    "direct-talks-2022": TrackInfo(
        "Direct Russia-Ukraine talks, 2022", TrackFormat.DIRECT, Coverage.MILESTONES, None
    ),
    "zaporizhzhia-iaea": TrackInfo(
        "Zaporizhzhia nuclear plant (IAEA)", TrackFormat.MEDIATED, Coverage.MILESTONES, None
    ),
    "peace-proposals": TrackInfo(
        "Peace plans and responses", TrackFormat.MULTILATERAL, Coverage.MILESTONES, None
    ),
    "peace-summit": TrackInfo(
        "Peace formula meetings and summit", TrackFormat.MULTILATERAL, Coverage.MILESTONES, None
    ),
    "leader-contacts": TrackInfo(
        "Leader and third-party contacts", TrackFormat.MEDIATED, Coverage.MILESTONES, None
    ),
}  # fmt: skip


def _track_info(track: str, has_mediators: bool) -> TrackInfo:
    """A track not in TRACKS (a future CSV) gets milestones coverage until someone decides."""
    if track in TRACKS:
        return TRACKS[track]
    fmt = TrackFormat.MEDIATED if has_mediators else TrackFormat.DIRECT
    return TrackInfo(track.replace("-", " ").capitalize(), fmt, Coverage.MILESTONES, None)


# --- outcomes and statements ------------------------------------------------------------------

# Order matters in infer_outcome: unknown markers first, then partial, then the none/agreement
# balance. Matching is on casefolded text.
_UNKNOWN_MARKERS = ("not reported", "no result", "no announced result", "no details", "no public outcome")
# Qualified or merely procedural agreement ("agreed to meet again") is partial.
_PARTIAL_MARKERS = (
    "in principle", "close to agreement", "agreed orally", "some progress",
    "agreed to meet again", "agreed to continue", "agreement to discuss",
)  # fmt: skip
# "No <up to two words> <noun> [agreed|signed|...]": "no signed document reported", "no zone
# agreed", "No harvest-ceasefire text agreed". The trailing verb is consumed so that it does not
# count as an agreement marker afterwards.
_NONE_RE = re.compile(
    r"\bno (?:[\w-]+ ){0,2}(?:agreements?|documents?|statement|decisions?|deal|consensus|"
    r"common position|progress|breakthrough|plan|zone|ceasefire|text|summit date|opening)\b"
    r"(?: (?:agreed|signed|set|announced|reported))?"
    r"|not signed|did not sign|broke down|deadlock|fruitless|differences persisted|not ready"
)
_AGREEMENT_RE = re.compile(r"agree|signed|adopted|communiqu|joint statement|declaration|understanding")


def infer_outcome(text: str | None) -> Outcome:
    """Outcome of a `round` row from its free-text `outcome` cell.

    Parenthesised asides are ignored: they often date a later event ("(measures agreed 22 July)").

    unknown   nothing reported ("Not reported in the pages seen", empty)
    partial   a qualified or procedural agreement ("in principle", "agreed to meet again"),
              "some progress", agreement and failure markers together ("Communiqué: ...; no
              deal on elections"), or neither kind of marker (something happened: "Next
              session set for 1 June", "Minor progress on corridor logistics")
    agreement agreement markers only ("agreed", "signed", "adopted", "communiqué", ...)
    none      failure markers only ("no agreement", "no document", "broke down", "deadlock", ...)
    """
    t = _PARENS_RE.sub(" ", text or "").casefold()
    if not t.strip() or any(m in t for m in _UNKNOWN_MARKERS):
        return Outcome.UNKNOWN
    if any(m in t for m in _PARTIAL_MARKERS):
        return Outcome.PARTIAL
    failed = _NONE_RE.search(t) is not None
    agreed = _AGREEMENT_RE.search(_NONE_RE.sub(" ", t)) is not None
    if agreed:
        return Outcome.PARTIAL if failed else Outcome.AGREEMENT
    return Outcome.NONE if failed else Outcome.PARTIAL


# Every statement kind by its own name, and the dataset's `statement` for an assessment.
STATEMENT_KINDS: dict[str, StatementKind] = {kind.value: kind for kind in StatementKind} | {
    "statement": StatementKind.ASSESSMENT
}
ROUND_TYPES = ("round", "agreement")
EXCHANGE_TYPES = ("exchange",)

# Heads of state of the two sides over 2014-2024; a proposal or rejection that speaks of
# talks/meeting *with* one of them, or of a leaders' summit, is about a leader-level meeting.
LEADERS = ("Putin", "Zelensky", "Zelenskyy", "Poroshenko")
_LEADER_MEETING_RE = re.compile(
    r"\b(?:talks|negotiations|meeting|meet|summit)\s+with\s+(?:" + "|".join(LEADERS) + r")\b"
    r"|\b(?:leaders'|heads of state|heads-of-state)\s+(?:summit|meeting)\b"
)


def is_leader_level(kind: StatementKind, text: str) -> bool:
    """True for a proposal/rejection whose text is about a heads-of-state meeting."""
    return kind in (StatementKind.PROPOSAL, StatementKind.REJECTION) and bool(
        _LEADER_MEETING_RE.search(text)
    )


# --- sources, dates, text ---------------------------------------------------------------------


def source_id(url: str) -> str:
    """Stable slug for a URL: the same URL always cites the same source."""
    return "src-" + hashlib.sha1(url.encode()).hexdigest()[:12]


def outlet_of(url: str) -> str:
    host = (urlsplit(url).hostname or url).rstrip(".")  # "ria.ru." occurs in the data
    return host.removeprefix("www.")


def parse_date(text: str) -> dt.date:
    """ISO day, or "YYYY-MM" / "YYYY" for month/year precision (stored as the first day)."""
    parts = [int(p) for p in text.split("-")]
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"not a date: {text!r}")
    return dt.date(*(parts + [1] * (3 - len(parts))))


def clip(text: str, limit: int) -> str:
    """Fit a schema length limit; the shipped data never needs it (a test checks)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


SHORT_TEXT, LONG_TEXT, NAME = 500, 4000, 200  # ShortText, LongText, Name in schemas.types

# Columns with no field of their own on a record type are kept, labelled, in `notes`.
_NOTE_LABELS = {
    "outcome": "Outcome",
    "parties": "Parties",
    "location": "Location",
    "mediator": "Mediator",
    "end_date": "End date",
}
_EXTRA_NOTES: dict[str, tuple[str, ...]] = {
    "round": ("outcome", "parties"),
    "exchange": ("outcome", "parties", "location", "end_date"),
    "statement": ("outcome", "parties", "location", "mediator", "end_date"),
}


def _notes(row: Row, record: str) -> str | None:
    parts = [f"{_NOTE_LABELS[c]}: {row[c]}" for c in _EXTRA_NOTES[record] if row[c]]
    if row["notes"]:
        parts.append(str(row["notes"]))
    return clip(" — ".join(parts), LONG_TEXT) if parts else None


# --- reading and mapping ----------------------------------------------------------------------


def read_rows(paths: Sequence[Path]) -> pl.DataFrame:
    """All rows of the given CSVs, every column a string (blank -> null), plus `file` (name)."""
    frames = [
        pl.read_csv(p, infer_schema_length=0).with_columns(pl.lit(p.name).alias("file"))
        for p in paths
    ]
    if not frames:
        return pl.DataFrame(schema={c: pl.String for c in (*COLUMNS, "file")})
    # diagonal: a later file may lack or add a column without breaking the others.
    return pl.concat(frames, how="diagonal")


def history_files(data_dir: Path, *more_dirs: Path) -> list[Path]:
    """Every `timeline_*.csv` in `data_dir`, plus those of `more_dirs` whose names it lacks.

    The shipped copies win, so a newer file dropped beside the originals adds to the history
    without a shipped file being read twice.
    """
    found: dict[str, Path] = {}
    for directory in (data_dir, *more_dirs):
        for path in sorted(directory.glob(CSV_GLOB)) if directory.is_dir() else []:
            found.setdefault(path.name, path)
    return [found[name] for name in sorted(found)]


def read_side_tables(data_dir: Path, *more_dirs: Path) -> SideTables:
    """The side tables found in the first of the folders that holds each (shipped copies win)."""
    tables: dict[str, list[dict[str, str | None]] | None] = {}
    for name in SIDE_COLUMNS:
        path = next((d / name for d in (data_dir, *more_dirs) if (d / name).is_file()), None)
        tables[name] = None if path is None else read_side_table(path)
    return SideTables(tables[ACTORS_FILE], tables[COVERAGE_FILE], tables[CLAIMS_FILE])


def read_side_table(path: Path) -> list[dict[str, str | None]]:
    """One side table's rows, cells stripped (blank -> None); its header must have the agreed columns."""
    frame = pl.read_csv(path, infer_schema_length=0)
    missing = [c for c in SIDE_COLUMNS[path.name] if c not in frame.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {', '.join(missing)}")
    return [{c: _clean(r.get(c)) for c in SIDE_COLUMNS[path.name]} for r in frame.iter_rows(named=True)]


def load_history(data_dir: Path = DEFAULT_DATA_DIR, *more_dirs: Path) -> HistoryRecords:
    return map_history(read_rows(history_files(data_dir, *more_dirs)), read_side_tables(data_dir, *more_dirs))


S = TypeVar("S", bound=msgspec.Struct)


def _validated(record: S) -> S:
    """Struct constructors skip Meta constraints; a to_builtins/convert round trip applies them."""
    return msgspec.convert(msgspec.to_builtins(record), type(record))


def _clean(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _required(row: Row, column: str) -> str:
    value = row[column]
    if value is None:
        raise ValueError(f"{row['id']} ({row['file']}): empty `{column}`")
    return value


def _count(value: str | None) -> int | None:
    return None if value is None else int(value)


class _Common(NamedTuple):
    """The EventFields every record type takes from a row the same way."""

    date: dt.date
    date_precision: DatePrecision
    sources: list[str]
    confidence: Confidence
    external_id: str
    summary: str | None


Event = RoundCreate | ExchangeCreate | StatementCreate


def _event(
    row: Row, src: str, parties: list[str], mediators: list[str], claims: list[ExchangeClaim],
    known_actors: Mapping[str, object],
) -> Event:
    """The one record a row becomes, by its `event_type`."""
    event_type, track = _required(row, "event_type"), _required(row, "track")
    if row["round_status"] is not None and event_type not in ROUND_TYPES:
        raise ValueError(f"`round_status` is for round and agreement rows, not {event_type!r}")
    if row["speaker"] is not None and event_type not in STATEMENT_KINDS:
        raise ValueError(f"`speaker` is for statement rows, not {event_type!r}")
    if claims and event_type not in EXCHANGE_TYPES:
        raise ValueError(f"{CLAIMS_FILE} names it, but it is a {event_type!r} row, not an exchange")
    date = parse_date(_required(row, "date"))
    common = _Common(
        date=date,
        date_precision=DatePrecision(row["date_precision"] or "day"),
        sources=[src],
        confidence=Confidence(row["confidence"] or "high"),
        external_id=_required(row, "id"),
        summary=clip(row["summary"], LONG_TEXT) if row["summary"] else None,
    )._asdict()
    if event_type in ROUND_TYPES:
        end = row["end_date"]
        return RoundCreate(
            **common,
            track=track,
            end_date=parse_date(end) if end else None,
            venue=clip(row["location"], SHORT_TEXT) if row["location"] else None,
            mediators=mediators,
            outcome=Outcome.AGREEMENT if event_type == "agreement" else infer_outcome(row["outcome"]),
            status=RoundStatus(row["round_status"] or RoundStatus.HELD),
            notes=_notes(row, "round"),
        )
    if event_type in EXCHANGE_TYPES:
        return ExchangeCreate(
            **common,
            track=track,
            kind=ExchangeKind.POW,
            status=ExchangeStatus.EXECUTED,
            executed_on=date,
            returned_to_ukraine=_count(row["pow_released_ukraine"]),
            returned_to_russia=_count(row["pow_released_russia"]),
            mediators=mediators,
            claims=claims,
            notes=_notes(row, "exchange"),
        )
    if event_type in STATEMENT_KINDS:
        speaker = row["speaker"]
        if speaker is not None and speaker not in known_actors:
            raise ValueError(f"`speaker` {speaker!r} is neither in the alias table nor in {ACTORS_FILE}")
        if speaker is None and not parties:
            raise ValueError(f"no known actor in parties {row['parties']!r}")
        kind = STATEMENT_KINDS[event_type]
        return StatementCreate(
            **common,
            actor=speaker or parties[0],
            track=track,
            kind=kind,
            leader_level=is_leader_level(kind, f"{row['summary'] or ''} {row['outcome'] or ''}"),
            notes=_notes(row, "statement"),
        )
    raise ValueError(f"unknown event_type {event_type!r}")


def map_history(rows: pl.DataFrame, side: SideTables = SideTables()) -> HistoryRecords:
    """Map timeline rows (and the side tables present) to create-records. Pure and deterministic
    (input order is irrelevant)."""
    table = [
        {c: _clean(r.get(c)) for c in (*COLUMNS, *OPTIONAL_COLUMNS, "file")} for r in rows.iter_rows(named=True)
    ]
    table.sort(key=lambda r: r["id"] or "")
    known_actors = actor_table(side.actors)
    claims = exchange_claims(side.exchange_claims, known_actors)
    seen: set[str] = set()
    sources: dict[str, SourceCreate] = {}
    track_parties: dict[str, set[str]] = {}
    track_mediators: dict[str, set[str]] = {}
    track_days: dict[str, list[dt.date]] = {}
    rounds: list[RoundCreate] = []
    exchanges: list[ExchangeCreate] = []
    statements: list[StatementCreate] = []

    for row in table:
        where = f"{row['id']} ({row['file']})"
        try:
            row_id, track, url = (_required(row, c) for c in ("id", "track", "source_url"))
            if row_id in seen:
                raise ValueError("duplicate id")
            seen.add(row_id)
            _add_source(sources, url, row["source_title"])
            parties, mediators = actor_slugs(row["parties"]), actor_slugs(row["mediator"])
            track_parties.setdefault(track, set()).update(parties)
            track_mediators.setdefault(track, set()).update(mediators)
            record = _validated(_event(row, source_id(url), parties, mediators, claims.get(row_id, []), known_actors))
        except (ValueError, TypeError) as e:  # msgspec.ValidationError is a ValueError
            raise ValueError(f"{where}: {e}") from e
        track_days.setdefault(track, []).extend(d for d in (record.date, getattr(record, "end_date", None)) if d)
        match record:
            case RoundCreate():
                rounds.append(record)
            case ExchangeCreate():
                exchanges.append(record)
            case StatementCreate():
                statements.append(record)
    unknown = sorted(set(claims) - seen)
    if unknown:
        raise ValueError(f"{CLAIMS_FILE}: no timeline row has the id {', '.join(unknown)}")
    for row in side.exchange_claims or []:  # after the rows, so a row's own title wins for its URL
        _add_source(sources, _side_required(row, "source_url", CLAIMS_FILE), row["source_title"])

    # Every actor named, every actor actors.csv lists (it lists them to be known), and their affiliations.
    actor_ids = set().union(
        *track_parties.values(), *track_mediators.values(), {s.actor for s in statements},
        {c.claimant for found in claims.values() for c in found}, {a["id"] for a in side.actors or [] if a["id"]},
    )
    actors = [_validated(known_actors[a]) for a in sorted(affiliation_closure(actor_ids, known_actors))]
    periods = coverage_periods(side.coverage_periods, set(track_parties))
    tracks: list[TrackCreate] = []
    for t in sorted(track_parties):
        info = _track_info(t, bool(track_mediators[t]))
        try:
            rec_t = TrackCreate(
                id=t,
                name=info.name,
                parties=sorted(track_parties[t]),
                mediators=sorted(track_mediators[t]),
                format=info.format,
                coverage_periods=periods.get(t, []) if periods is not None else _whole_track(info, track_days[t]),
                description=info.description,
            )
            tracks.append(_validated(rec_t))
        except (ValueError, TypeError) as e:
            raise ValueError(f"track {t}: {e}") from e

    return HistoryRecords(
        actors=actors,
        sources=sorted(sources.values(), key=lambda s: s.id),
        tracks=tracks,
        rounds=rounds,
        exchanges=exchanges,
        statements=statements,
    )


def _add_source(sources: dict[str, SourceCreate], url: str, title: str | None) -> None:
    """The source citing `url`, once: the first to cite a URL gives its title."""
    if url not in sources:
        outlet = clip(outlet_of(url), NAME)
        sources[url] = _validated(
            SourceCreate(id=source_id(url), outlet=outlet, title=clip(title or outlet, SHORT_TEXT), url=url)
        )


def _side_required(row: Row, column: str, file: str) -> str:
    value = row[column]
    if value is None:
        raise ValueError(f"{file}: a row has an empty `{column}`: {dict(row)}")
    return value


# --- the side tables ----------------------------------------------------------------------------


def actor_table(rows: list[dict[str, str | None]] | None) -> dict[str, ActorCreate]:
    """Every actor the history may name: the alias table's, then `actors.csv`'s (which may add an
    affiliation or role to one of the alias table's)."""
    table = {slug: ActorCreate(id=slug, name=name, kind=kind) for slug, (name, kind) in ACTORS.items()}
    listed: set[str] = set()
    for row in rows or []:
        try:
            actor = msgspec.convert(row, ActorCreate)
        except msgspec.ValidationError as e:
            raise ValueError(f"{ACTORS_FILE}: {row['id']}: {e}") from e
        if actor.id in listed:
            raise ValueError(f"{ACTORS_FILE}: {actor.id} appears twice")
        listed.add(actor.id)
        table[actor.id] = actor
    for actor in table.values():
        if actor.affiliation is not None and actor.affiliation not in table:
            raise ValueError(f"{ACTORS_FILE}: {actor.id}'s affiliation {actor.affiliation!r} is not a known actor")
    return table


def affiliation_closure(actor_ids: set[str], table: Mapping[str, ActorCreate]) -> set[str]:
    """`actor_ids` and every actor they are affiliated to, up each chain, so references resolve."""
    found, todo = set(), list(actor_ids)
    while todo:
        actor = todo.pop()
        if actor in found:
            continue
        if actor not in table:
            raise ValueError(f"{actor!r} is neither in the alias table nor in {ACTORS_FILE}")
        found.add(actor)
        if table[actor].affiliation is not None:
            todo.append(table[actor].affiliation)
    return found


def exchange_claims(
    rows: list[dict[str, str | None]] | None, known_actors: Mapping[str, object]
) -> dict[str, list[ExchangeClaim]]:
    """`exchange_claims.csv` as claims per exchange row id, in a stable order."""
    claims: dict[str, list[ExchangeClaim]] = {}
    for row in rows or []:
        exchange = _side_required(row, "exchange", CLAIMS_FILE)
        claimant = _side_required(row, "claimant", CLAIMS_FILE)
        if claimant not in known_actors:
            raise ValueError(f"{CLAIMS_FILE}: {exchange}: claimant {claimant!r} is not a known actor")
        try:
            claim = msgspec.convert({
                "claimant": claimant,
                "returned_to_ukraine": _count(row["returned_to_ukraine"]),
                "returned_to_russia": _count(row["returned_to_russia"]),
                "sources": [source_id(_side_required(row, "source_url", CLAIMS_FILE))],
                "notes": row["notes"],
            }, ExchangeClaim)
        except (ValueError, msgspec.ValidationError) as e:
            raise ValueError(f"{CLAIMS_FILE}: {exchange} ({claimant}): {e}") from e
        claims.setdefault(exchange, []).append(claim)
    for found in claims.values():
        found.sort(key=lambda c: (c.claimant, msgspec.json.encode(c)))  # file order never matters
    return claims


def coverage_periods(
    rows: list[dict[str, str | None]] | None, tracks: set[str]
) -> dict[str, list[CoveragePeriod]] | None:
    """`coverage_periods.csv` as each track's periods, by start; None when the file is absent.

    When present it is the whole truth: a track it does not name was observed in no period."""
    if rows is None:
        return None
    periods: dict[str, list[CoveragePeriod]] = {}
    for row in rows:
        track = _side_required(row, "track", COVERAGE_FILE)
        if track not in tracks:
            raise ValueError(f"{COVERAGE_FILE}: track {track!r} has no timeline row")
        try:
            period = msgspec.convert({k: row[k] for k in ("start", "end", "coverage", "basis")}, CoveragePeriod)
        except msgspec.ValidationError as e:
            raise ValueError(f"{COVERAGE_FILE}: {track} from {row['start']}: {e}") from e
        periods.setdefault(track, []).append(period)
    for found in periods.values():
        found.sort(key=lambda p: p.start)
    return periods


def _whole_track(info: TrackInfo, days: list[dt.date]) -> list[CoveragePeriod]:
    """Without coverage_periods.csv: the notes' one coverage flag, over the span of the track's rows."""
    return [CoveragePeriod(
        start=min(days), end=max(days), coverage=info.coverage,
        basis="The notes files' coverage for the track as a whole, over the span of its rows.",
    )]
