"""Synthetic ACLED export, and how long `parley import --format acled` takes on it.

    python bench/acled_synthetic.py                  # 1,000,000 rows, import into a fresh seeded store
    python bench/acled_synthetic.py --rows 200000 --output /tmp/acled.csv --no-import

The rows follow the ACLED codebook columns with plausible distributions (most events are
shelling and drone strikes, most of them without fatalities, a tenth of dates in the older
"15 January 2024" style). The import runs as its own process, twice (the second run finds every
week unchanged); for each the script prints wall time and the child's peak RSS, from wait4.
"""

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent

ADMIN1 = {  # ACLED spelling -> share of events
    "Donetsk": 0.35, "Kherson": 0.15, "Kharkiv": 0.15, "Zaporizhia": 0.12, "Sumy": 0.06, "Luhansk": 0.05,
    "Dnipropetrovsk": 0.05, "Odesa": 0.03, "Mykolaiv": 0.02, "Kyiv City": 0.02,
}  # fmt: skip
EVENT_TYPES = {  # event_type -> (share, disorder_type, {sub_event_type: share})
    "Explosions/Remote violence": (0.60, "Political violence", {
        "Shelling/artillery/missile attack": 0.7, "Air/drone strike": 0.28, "Remote explosive/landmine/IED": 0.02}),
    "Battles": (0.25, "Political violence", {
        "Armed clash": 0.97, "Government regains territory": 0.015, "Non-state actor overtakes territory": 0.015}),
    "Strategic developments": (0.06, "Strategic developments", {
        "Disrupted weapons use": 0.6, "Looting/property destruction": 0.2, "Other": 0.2}),
    "Violence against civilians": (0.04, "Political violence", {"Attack": 0.9, "Abduction/forced disappearance": 0.1}),
    "Protests": (0.04, "Demonstrations", {"Peaceful protest": 1.0}),
    "Riots": (0.01, "Demonstrations", {"Violent demonstration": 1.0}),
}
ACTORS = ("Military Forces of Russia (2000-)", "Military Forces of Ukraine (2019-)")
SOURCES = (
    "Ukrinform", "Suspilne", "Institute for the Study of War", "Ministry of Defence of Ukraine", "Kyiv Independent",
)
START, END = dt.date(2022, 2, 24), dt.date(2024, 12, 31)


def _pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    p = np.array(list(shares.values()))
    return rng.choice(np.array(list(shares)), size=n, p=p / p.sum())


def synthesize(rows: int, seed: int = 7) -> pl.DataFrame:
    """`rows` ACLED-format events, every column as ACLED writes it."""
    rng = np.random.default_rng(seed)
    event_type = _pick(rng, {k: v[0] for k, v in EVENT_TYPES.items()}, rows)
    sub_event = np.empty(rows, dtype=object)
    disorder = np.empty(rows, dtype=object)
    for kind, (_, disorder_type, subs) in EVENT_TYPES.items():
        mask = event_type == kind
        sub_event[mask] = _pick(rng, subs, int(mask.sum()))
        disorder[mask] = disorder_type
    days = rng.integers(0, (END - START).days + 1, rows)
    frame = pl.DataFrame({
        "n": np.arange(1, rows + 1),
        "day": days,
        "old_style": rng.random(rows) < 0.1,
        "event_type": event_type.astype(str),
        "sub_event_type": sub_event.astype(str),
        "disorder_type": disorder.astype(str),
        "admin1": _pick(rng, ADMIN1, rows).astype(str),
        "attacker": rng.integers(0, 2, rows),
        "settlement": rng.integers(1, 400, rows),
        "latitude": np.round(rng.uniform(46.2, 50.5, rows), 4),
        "longitude": np.round(rng.uniform(30.5, 39.7, rows), 4),
        "fatalities": rng.poisson(0.3, rows),
        "source": rng.choice(np.array(SOURCES), rows).astype(str),
    })
    date = pl.lit(START) + pl.duration(days=pl.col("day"))
    actor1 = pl.when(pl.col("attacker") == 0).then(pl.lit(ACTORS[0])).otherwise(pl.lit(ACTORS[1]))
    actor2 = pl.when(pl.col("event_type") == "Battles").then(
        pl.when(pl.col("attacker") == 0).then(pl.lit(ACTORS[1])).otherwise(pl.lit(ACTORS[0]))
    )
    location = pl.format("{} settlement {}", pl.col("admin1"), pl.col("settlement"))
    return frame.select(
        pl.format("UKR{}", pl.col("n")).alias("event_id_cnty"),
        pl.when(pl.col("old_style")).then(date.dt.strftime("%-d %B %Y")).otherwise(date.dt.strftime("%Y-%m-%d"))
        .alias("event_date"),
        "disorder_type", "event_type", "sub_event_type",
        actor1.alias("actor1"), actor2.alias("actor2"), "admin1", location.alias("location"),
        "latitude", "longitude", "fatalities",
        pl.format("On {}, {} reported: {} ({}) near {}, {}; {} fatalities.", date.dt.strftime("%-d %B %Y"),
                  pl.col("source"), pl.col("sub_event_type"), pl.col("event_type"), location, pl.col("admin1"),
                  pl.col("fatalities")).alias("notes"),
        "source",
        (date.cast(pl.Datetime("ms")).dt.epoch("s") + 86_400 * 7).alias("timestamp"),
    )


def measured_import(csv_path: Path, database: Path) -> tuple[float, float, str]:
    """Run the import as a direct child and read its own peak RSS with wait4 (Linux: KiB)."""
    env = {**os.environ, "PARLEY_DATABASE_URL": f"sqlite:///{database}"}
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: become the import
        os.chdir(ROOT)
        os.dup2(write_end, 1)
        os.close(read_end)
        os.execve(sys.executable, [sys.executable, "-m", "api.cli", "import", "--format", "acled", str(csv_path)],
                  env)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        out = pipe.read()
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"import failed: {out.strip()}")
    return elapsed, usage.ru_maxrss / 1024, out.strip()


def seeded_store(database: Path) -> None:
    env = {**os.environ, "PARLEY_DATABASE_URL": f"sqlite:///{database}"}
    subprocess.run([sys.executable, "-m", "api.cli", "seed"], cwd=ROOT, env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, help="where to write the CSV (default: a temporary directory)")
    parser.add_argument("--no-import", action="store_true", help="only write the CSV")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-acled-") as tmp:
        csv_path = args.output or Path(tmp) / f"acled_synthetic_{args.rows}.csv"
        started = time.perf_counter()
        synthesize(args.rows, args.seed).write_csv(csv_path)
        size = csv_path.stat().st_size / 2**20
        print(f"wrote {args.rows:,} rows, {size:.0f} MiB, in {time.perf_counter() - started:.1f} s: {csv_path}")
        if args.no_import:
            return
        database = Path(tmp) / "parley.db"
        seeded_store(database)
        for label in ("first import", "re-import"):
            elapsed, peak, summary = measured_import(csv_path, database)
            print(f"{label}: {elapsed:.2f} s wall, peak RSS {peak:.0f} MiB — {summary}")


if __name__ == "__main__":
    main()
