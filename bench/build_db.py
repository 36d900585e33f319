"""Build the benchmark database: the seed plus thousands of synthetic event records.

The seeded store holds ~14 event rows, too few for a 100-item page. This module creates a fresh
SQLite file, migrates and seeds it, then adds synthetic rounds, exchanges and statements through
Parley's real write path (`api.store.load_records`), so bodies, columns, indexes and revisions are
exactly what the API would have written. Content is drawn from a seeded RNG and every record has
an `external_id`, so ids and ordering are the same on every build (only `recorded_at` differs).

    python -m bench.build_db /tmp/parley-bench.db            # 5,000 / 2,000 / 3,000
    python -m bench.build_db /tmp/x.db --rounds 500 --exchanges 0 --statements 0
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import msgspec

# Run as `python bench/build_db.py` as well as `python -m bench.build_db`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import db  # noqa: E402
from api.collections import EXCHANGES, ROUNDS, STATEMENTS  # noqa: E402
from api.seeding import seed  # noqa: E402
from api.store import load_records  # noqa: E402
from schemas.ids import ROUND_PREFIX, derived_id  # noqa: E402
from schemas.records import ExchangeCreate, RoundCreate, StatementCreate  # noqa: E402
from schemas.vocab import (  # noqa: E402
    Confidence,
    DatePrecision,
    ExchangeKind,
    ExchangeStatus,
    Outcome,
    StatementKind,
)

SOURCE = "brief-2026-06-07"  # a seeded source every synthetic record cites
TRACK = "istanbul-talks"  # the seeded track
EXTRA_SOURCES = ["kyiv-independent-2026-06-07", "al-jazeera-2026-06-07", "ea-worldview-2026-06-07"]
SPEAKERS = ["zelensky", "putin", "peskov", "russian-foreign-ministry", "rubio", "kyiv-independent"]
MEDIATORS = ["turkey", "united-states"]
TOPICS = ["ceasefire", "prisoner exchange", "humanitarian corridors", "energy infrastructure", "grain exports"]
VENUES = ["Istanbul, Turkey", "Ankara, Turkey", "Riyadh, Saudi Arabia", "Geneva, Switzerland"]

# Dates spread over the war so far; the RNG picks any day in this span.
FIRST_DAY = dt.date(2022, 2, 24)
LAST_DAY = dt.date(2026, 6, 7)
REASON = "bench"


@dataclass(frozen=True)
class Sizes:
    rounds: int = 5_000
    exchanges: int = 2_000
    statements: int = 3_000


def _day(rng: random.Random) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days + 1))


def _sources(rng: random.Random) -> list[str]:
    return [SOURCE, *rng.sample(EXTRA_SOURCES, rng.randrange(3))]


def _text(rng: random.Random, what: str, n: int) -> str:
    # Realistic-length prose (~150-250 chars) so bodies weigh what real records weigh.
    topic = rng.choice(TOPICS)
    return (f"Synthetic {what} #{n} for benchmarking: delegations discussed {topic} and "
            f"{rng.choice(TOPICS)}; the parties reported progress on {topic} but no final text was agreed.")


def synthetic_rounds(count: int, rng: random.Random) -> list[RoundCreate]:
    rounds = []
    for n in range(count):
        day = _day(rng)
        # ~0.5% of rounds have an unknown date: they sort first (sort_key ''), as real ones do.
        unknown = rng.random() < 0.005
        rounds.append(RoundCreate(
            track=TRACK, sequence=n + 1, date=None if unknown else day,
            date_precision=DatePrecision.UNKNOWN if unknown else DatePrecision.DAY,
            reported_at=day, end_date=None if unknown else day + dt.timedelta(days=rng.randrange(3)),
            venue=rng.choice(VENUES), mediators=rng.sample(MEDIATORS, rng.randrange(1, 3)),
            delegation_heads=rng.sample(["zelensky", "putin", "peskov"], rng.randrange(3)),
            topics=rng.sample(TOPICS, rng.randrange(1, 4)), outcome=rng.choice(list(Outcome)),
            ceasefire_agreed=rng.choice([None, False, True]), agreed_to_meet_again=rng.choice([None, False, True]),
            external_id=f"bench:round-{n:05d}", sources=_sources(rng), confidence=rng.choice(list(Confidence)),
            summary=_text(rng, "round", n), notes=None if rng.random() < 0.5 else "Synthetic; not a real round.",
        ))
    return rounds


def synthetic_exchanges(count: int, rounds: int, rng: random.Random) -> list[ExchangeCreate]:
    exchanges = []
    for n in range(count):
        day = _day(rng)
        status = rng.choice(list(ExchangeStatus))
        exchanges.append(ExchangeCreate(
            track=TRACK,
            round=derived_id(ROUND_PREFIX, f"bench:round-{rng.randrange(rounds):05d}") if rounds else None,
            kind=rng.choice(list(ExchangeKind)), status=status, date=day, agreed_on=day,
            executed_on=day + dt.timedelta(days=rng.randrange(1, 20)) if status == ExchangeStatus.EXECUTED else None,
            returned_to_ukraine=rng.randrange(0, 1500), returned_to_russia=rng.randrange(0, 1500),
            mediators=rng.sample(MEDIATORS, rng.randrange(1, 3)), external_id=f"bench:exchange-{n:05d}",
            sources=_sources(rng), summary=_text(rng, "exchange", n),
        ))
    return exchanges


def synthetic_statements(count: int, rng: random.Random) -> list[StatementCreate]:
    statements = []
    for n in range(count):
        statements.append(StatementCreate(
            actor=rng.choice(SPEAKERS), track=TRACK if rng.random() < 0.9 else None,
            kind=rng.choice(list(StatementKind)), leader_level=rng.random() < 0.2, date=_day(rng),
            venue_proposals=rng.sample(VENUES, rng.randrange(3)),
            conditions=["a full, unconditional ceasefire"] if rng.random() < 0.3 else [],
            quote=None if rng.random() < 0.4 else f"Synthetic quote number {n}.",
            external_id=f"bench:statement-{n:05d}", sources=_sources(rng), summary=_text(rng, "statement", n),
        ))
    return statements


def validated(records: list[msgspec.Struct]) -> list[msgspec.Struct]:
    """Round-trip through msgspec with the Struct's constraints, as the POST path would validate them.

    Calling a Struct's constructor runs `__post_init__` but not the `Meta` constraints (patterns,
    lengths); converting enforces them, so the synthetic rows are records the API would accept.
    """
    return [msgspec.convert(msgspec.to_builtins(r), type(r)) for r in records]


# Where the PostgreSQL benchmarks create (and afterwards drop) databases of their own.
ADMIN_URL = os.environ.get("PARLEY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def admin(sql: str) -> None:
    """One statement on the admin database, outside a transaction (as CREATE DATABASE needs)."""
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def build(target: Path | str, sizes: Sizes = Sizes(), seed_value: int = 20260607) -> dict[str, int]:
    """Build the bench store and return the row count per collection.

    `target` is a SQLite file (replaced if it exists) or a `postgresql://` URL of an empty database.
    """
    url = target if isinstance(target, str) else f"sqlite:///{target}"
    if isinstance(target, Path):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    rng = random.Random(seed_value)

    async def fill(conn: db.Connection) -> dict[str, int]:
        await db.migrate(conn)
        await seed(conn)
        await load_records(conn, [
            (ROUNDS, validated(synthetic_rounds(sizes.rounds, rng))),
            (EXCHANGES, validated(synthetic_exchanges(sizes.exchanges, sizes.rounds, rng))),
            (STATEMENTS, validated(synthetic_statements(sizes.statements, rng))),
        ], reason=REASON)
        if conn.dialect == "sqlite":
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # start the bench with an empty WAL
        else:
            await conn.execute("ANALYZE")  # fresh statistics for the planner
        return await counts(conn)

    return db.run_on_connection(url, fill)


async def counts(conn: db.Connection) -> dict[str, int]:
    rows = await conn.fetchall("SELECT collection, COUNT(*) FROM records GROUP BY collection ORDER BY collection")
    events = await conn.fetchone("SELECT COUNT(*) FROM records WHERE is_event = 1")
    assert events is not None
    return {collection: n for collection, n in rows} | {"events": events[0]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rounds", type=int, default=Sizes.rounds)
    parser.add_argument("--exchanges", type=int, default=Sizes.exchanges)
    parser.add_argument("--statements", type=int, default=Sizes.statements)
    args = parser.parse_args(argv)
    print(build(args.path, Sizes(args.rounds, args.exchanges, args.statements)))


if __name__ == "__main__":
    main()
