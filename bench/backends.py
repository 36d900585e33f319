"""Backends benchmark: Parley on SQLite against Parley on PostgreSQL, one granian worker against two.

Measures list (`/v1/rounds?limit=100`), timeline (`/v1/timeline?limit=100`) and forecast
(`/v1/forecasts/tracks/istanbul-talks?as_of=2026-06-07&horizon=4`, cached after the first
request) throughput for four servers over the same data (bench/build_db.py, built once into a
SQLite file and once into a fresh PostgreSQL database), in interleaved rounds so machine noise
hits every configuration alike; prints median requests/s and p99 per configuration, and the
ratios PostgreSQL/SQLite and two workers/one. It reuses bench/run.py's machinery (wrk when
installed, granian servers, the rotating X-Forwarded-For client script). It measures and prints;
it asserts nothing.

    python bench/backends.py                               # 3 rounds x 5 s per configuration and endpoint
    python bench/backends.py --duration 3 --rounds 1       # quicker
    PARLEY_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres python bench/backends.py

On a small machine the load generator, the servers and PostgreSQL share the same cores (nothing
is pinned), so the two-worker numbers show contention as much as scale-out.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.build_db import ADMIN_URL, Sizes, admin, build  # noqa: E402
from bench.run import (  # noqa: E402
    PARLEY_ENV,
    Measurement,
    choose_client,
    raise_keyboard_interrupt,
    start_server,
    stop_server,
    wait_ready,
)

ENDPOINTS = {
    "list": "/v1/rounds?limit=100",
    "timeline": "/v1/timeline?limit=100",
    "forecast": "/v1/forecasts/tracks/istanbul-talks?as_of=2026-06-07&horizon=4",
}
CONFIGS = [("sqlite", 1), ("sqlite", 2), ("postgresql", 1), ("postgresql", 2)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Parley on SQLite vs PostgreSQL, one worker vs two.")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measured run (default 5)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is reported (default 3)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of discarded load per server and endpoint")
    p.add_argument("--connections", type=int, default=64, help="concurrent connections (default 64)")
    p.add_argument("--clients", type=int, default=1000, help="distinct X-Forwarded-For client addresses")
    p.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto")
    p.add_argument("--rows", default=f"{Sizes.rounds},{Sizes.exchanges},{Sizes.statements}",
                   help="synthetic rounds,exchanges,statements added to the seed")
    return p.parse_args(argv)



def ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}x" if b else "   n/a"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_keyboard_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="parley-backends-"))
    database = f"parley_bench_{uuid.uuid4().hex[:8]}"
    pg_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    servers = {}
    try:
        client_name, load = choose_client(args.client, workdir, args.clients, None)
        sizes = Sizes(*(int(x) for x in args.rows.split(",")))
        print(f"building SQLite and PostgreSQL stores ({sizes}) ...", flush=True)
        print("  sqlite:", build(workdir / "bench.db", sizes), flush=True)
        admin(f'CREATE DATABASE "{database}"')
        print("  postgresql:", build(pg_url, sizes), flush=True)
        urls = {"sqlite": f"sqlite:///{workdir / 'bench.db'}", "postgresql": pg_url}
        for backend, workers in CONFIGS:
            name = f"{backend}-{workers}w"
            servers[name] = start_server(name, "api.app:create_app", PARLEY_ENV | {"PARLEY_DATABASE_URL": urls[backend]},
                                         workdir, None, workers=workers)
        for server in servers.values():
            wait_ready(server, ENDPOINTS["list"])
        print(f"load generator: {client_name}; {args.connections} connections; {args.rounds} rounds x "
              f"{args.duration:.0f} s per configuration and endpoint", flush=True)
        for endpoint in ENDPOINTS.values():  # warm-up: imports, page caches, the forecast fit
            for server in servers.values():
                load(server.base_url + endpoint, args.connections, args.warmup)
        runs: dict[tuple[str, str], list[Measurement]] = {}
        for r in range(args.rounds):
            order = list(servers) if r % 2 == 0 else list(servers)[::-1]
            for what, endpoint in ENDPOINTS.items():
                for name in order:
                    m = load(servers[name].base_url + endpoint, args.connections, args.duration)
                    runs.setdefault((what, name), []).append(m)
                    print(f"  round {r + 1} {what:<9} {name:<14} {m.rps:>8.0f} req/s  p99 {m.p99_ms:7.2f} ms"
                          + (f"  errors {m.errors}" if m.errors else ""), flush=True)
                    time.sleep(0.3)
        rps = {key: statistics.median(m.rps for m in ms) for key, ms in runs.items()}
        p99 = {key: statistics.median(m.p99_ms for m in ms) for key, ms in runs.items()}
        print("\nMedian requests/s (p99 ms)")
        print(f"{'endpoint':<10}" + "".join(f"{name:>22}" for name in servers))
        for what in ENDPOINTS:
            print(f"{what:<10}" + "".join(f"{rps[(what, n)]:>13.0f} ({p99[(what, n)]:6.1f})" for n in servers))
        print("\nRatios of requests/s")
        print(f"{'endpoint':<10}{'pg/sqlite 1w':>14}{'pg/sqlite 2w':>14}{'sqlite 2w/1w':>14}{'pg 2w/1w':>12}")
        for what in ENDPOINTS:
            g = lambda n: rps[(what, n)]  # noqa: E731
            print(f"{what:<10}{ratio(g('postgresql-1w'), g('sqlite-1w')):>14}{ratio(g('postgresql-2w'), g('sqlite-2w')):>14}"
                  f"{ratio(g('sqlite-2w'), g('sqlite-1w')):>14}{ratio(g('postgresql-2w'), g('postgresql-1w')):>12}")
        print(f"\nmachine: {os.cpu_count()} CPUs shared by the load generator, the servers and PostgreSQL")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        for server in servers.values():
            stop_server(server)
        with contextlib.suppress(Exception):
            admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
