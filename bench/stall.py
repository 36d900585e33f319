"""Stall benchmark: does a worker keep serving reads while its writes wait on PostgreSQL?

A long write transaction elsewhere (a bulk `parley import` on another host, say) holds the
store's write lock, and writes that reach a worker meanwhile must wait for it. With a blocking
driver the worker's event loop waits too, and every read it holds waits with it; with the async
pool only the waiting write does.

One Parley worker on PostgreSQL (bench/build_db.py data) serves list reads
(`/v1/rounds?limit=100`) from wrk, in interleaved rounds:
- alone;
- while an outside session holds the write lock for `--hold` ms out of every `--period` ms, and
  a trickle of POSTs (one every 50 ms) goes through the same worker.

It prints requests/s and p99 of both, their ratio, and what the POSTs were answered. It measures
and prints; it asserts nothing.

    python bench/stall.py                      # 3 rounds x 5 s
    python bench/stall.py --duration 3 --rounds 1
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.build_db import ADMIN_URL, admin, build  # noqa: E402
from bench.run import (  # noqa: E402
    PARLEY_ENV,
    Measurement,
    choose_client,
    raise_keyboard_interrupt,
    start_server,
    stop_server,
    wait_ready,
)

READ = "/v1/rounds?limit=100"
STATEMENT = {"actor": "peskov", "kind": "assessment", "date": "2026-06-09", "sources": ["brief-2026-06-07"]}
WRITE_LOCK = 0x7061726C6579  # api.db.WRITE_LOCK, repeated so the script also runs against other versions


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Reads on one worker, alone and while its writes wait on a lock.")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measured run (default 5)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is reported (default 3)")
    p.add_argument("--connections", type=int, default=32, help="concurrent read connections (default 32)")
    p.add_argument("--hold", type=float, default=250.0, help="ms the outside session holds the lock (default 250)")
    p.add_argument("--period", type=float, default=500.0, help="ms between its lock grabs (default 500)")
    return p.parse_args(argv)



def write_key(url: str) -> str:
    """A `write` key, made by the command line so that any version of Parley can be measured."""
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "keys", "create", "--name", "stall bench", "--scope", "write"],
        cwd=REPO, env=os.environ | {"PARLEY_DATABASE_URL": url}, capture_output=True, text=True, check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@contextlib.contextmanager
def contention(url: str, base_url: str, token: str, hold: float, period: float) -> Iterator[Counter[int]]:
    """An outside lock holder and a trickle of POSTs, for as long as the block runs."""
    import httpx
    import psycopg

    stop = threading.Event()
    answers: Counter[int] = Counter()

    def hold_the_lock() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("BEGIN")
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                stop.wait(hold / 1000)
                conn.execute("COMMIT")
                stop.wait((period - hold) / 1000)

    def post() -> None:
        with httpx.Client(base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            while not stop.is_set():
                answers[client.post("/v1/statements", json=STATEMENT).status_code] += 1
                stop.wait(0.05)

    threads = [threading.Thread(target=hold_the_lock), threading.Thread(target=post)]
    for thread in threads:
        thread.start()
    try:
        yield answers
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_keyboard_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="parley-stall-"))
    database = f"parley_bench_{uuid.uuid4().hex[:8]}"
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    server = None
    try:
        client_name, load = choose_client("auto", workdir, 1000, None)
        admin(f'CREATE DATABASE "{database}"')
        print("building the PostgreSQL store:", build(url), flush=True)
        token = write_key(url)
        server = start_server("postgresql-1w", "api.app:create_app", PARLEY_ENV | {"PARLEY_DATABASE_URL": url},
                              workdir, None)
        wait_ready(server, READ)
        load(server.base_url + READ, args.connections, 2.0)  # warm-up
        print(f"load generator: {client_name}; {args.connections} connections; lock held {args.hold:.0f} ms "
              f"of every {args.period:.0f} ms", flush=True)
        runs: dict[str, list[Measurement]] = {"alone": [], "contended": []}
        answers: Counter[int] = Counter()
        for r in range(args.rounds):
            for what in ("alone", "contended") if r % 2 == 0 else ("contended", "alone"):
                with contextlib.ExitStack() as stack:
                    if what == "contended":
                        posted = stack.enter_context(contention(url, server.base_url, token, args.hold, args.period))
                    m = load(server.base_url + READ, args.connections, args.duration)
                if what == "contended":
                    answers.update(posted)
                runs[what].append(m)
                print(f"  round {r + 1} {what:<10} {m.rps:>8.0f} req/s  p99 {m.p99_ms:8.2f} ms"
                      + (f"  errors {m.errors}" if m.errors else ""), flush=True)
                time.sleep(0.3)
        rps = {what: statistics.median(m.rps for m in ms) for what, ms in runs.items()}
        p99 = {what: statistics.median(m.p99_ms for m in ms) for what, ms in runs.items()}
        print(f"\nreads alone:      {rps['alone']:8.0f} req/s, p99 {p99['alone']:8.2f} ms")
        print(f"reads contended:  {rps['contended']:8.0f} req/s, p99 {p99['contended']:8.2f} ms")
        print(f"contended/alone:  {rps['contended'] / rps['alone']:.2f}x requests/s, "
              f"{p99['contended'] / p99['alone']:.2f}x p99")
        print(f"POSTs answered:   {dict(sorted(answers.items()))}")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; server stopped", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            stop_server(server)
        with contextlib.suppress(Exception):
            admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
