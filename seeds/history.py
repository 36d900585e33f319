"""Map the history CSVs in `seeds/data/timeline_*.csv` to Parley create-records.

Each CSV row (one event) becomes exactly one RoundCreate, ExchangeCreate or StatementCreate;
the actors, sources and tracks those records cite are derived from the same rows. The dataset's
conventions are documented in `seeds/data/timeline_notes.md` and
`seeds/data/timeline_tcg_normandy_2015_2022_notes.md`.

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

Row = Mapping[str, str | None]


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


STATEMENT_KINDS: dict[str, StatementKind] = {
    "proposal": StatementKind.PROPOSAL,
    "rejection": StatementKind.REJECTION,
    "statement": StatementKind.ASSESSMENT,
    "suspension": StatementKind.SUSPENSION,
    "withdrawal": StatementKind.WITHDRAWAL,
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


def load_history(data_dir: Path = DEFAULT_DATA_DIR, *more_dirs: Path) -> HistoryRecords:
    return map_history(read_rows(history_files(data_dir, *more_dirs)))


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


def _event(row: Row, src: str, parties: list[str], mediators: list[str]) -> Event:
    """The one record a row becomes, by its `event_type`."""
    event_type, track = _required(row, "event_type"), _required(row, "track")
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
            notes=_notes(row, "exchange"),
        )
    if event_type in STATEMENT_KINDS:
        if not parties:
            raise ValueError(f"no known actor in parties {row['parties']!r}")
        kind = STATEMENT_KINDS[event_type]
        return StatementCreate(
            **common,
            actor=parties[0],
            track=track,
            kind=kind,
            leader_level=is_leader_level(kind, f"{row['summary'] or ''} {row['outcome'] or ''}"),
            notes=_notes(row, "statement"),
        )
    raise ValueError(f"unknown event_type {event_type!r}")


def map_history(rows: pl.DataFrame) -> HistoryRecords:
    """Map timeline rows to create-records. Pure and deterministic (input order is irrelevant)."""
    table = [
        {c: _clean(r.get(c)) for c in (*COLUMNS, "file")} for r in rows.iter_rows(named=True)
    ]
    table.sort(key=lambda r: r["id"] or "")
    seen: set[str] = set()
    sources: dict[str, SourceCreate] = {}
    track_parties: dict[str, set[str]] = {}
    track_mediators: dict[str, set[str]] = {}
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
            if url not in sources:  # the first row (by id) to cite a URL gives its title
                outlet = clip(outlet_of(url), NAME)
                title = clip(row["source_title"] or outlet, SHORT_TEXT)
                sources[url] = _validated(SourceCreate(id=source_id(url), outlet=outlet, title=title, url=url))
            parties, mediators = actor_slugs(row["parties"]), actor_slugs(row["mediator"])
            track_parties.setdefault(track, set()).update(parties)
            track_mediators.setdefault(track, set()).update(mediators)
            record = _validated(_event(row, source_id(url), parties, mediators))
        except (ValueError, TypeError) as e:  # msgspec.ValidationError is a ValueError
            raise ValueError(f"{where}: {e}") from e
        match record:
            case RoundCreate():
                rounds.append(record)
            case ExchangeCreate():
                exchanges.append(record)
            case StatementCreate():
                statements.append(record)

    actor_ids = set().union(*track_parties.values(), *track_mediators.values())
    actors = [_validated(ActorCreate(id=a, name=ACTORS[a][0], kind=ACTORS[a][1])) for a in sorted(actor_ids)]
    tracks: list[TrackCreate] = []
    for t in sorted(track_parties):
        info = _track_info(t, bool(track_mediators[t]))
        rec_t = TrackCreate(
            id=t,
            name=info.name,
            parties=sorted(track_parties[t]),
            mediators=sorted(track_mediators[t]),
            format=info.format,
            coverage=info.coverage,
            description=info.description,
        )
        tracks.append(_validated(rec_t))

    return HistoryRecords(
        actors=actors,
        sources=sorted(sources.values(), key=lambda s: s.id),
        tracks=tracks,
        rounds=rounds,
        exchanges=exchanges,
        statements=statements,
    )
