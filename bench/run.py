"""A/B benchmark: Parley (Litestar + msgspec) against a FastAPI + pydantic peer over the same SQLite file.

Measures `GET /v1/timeline?limit=100` and `GET /v1/rounds?limit=100` at 32 and 128 connections,
both apps under granian (one worker each, loopback only), in interleaved A/B rounds so machine
noise hits both alike; prints the median requests/s, p50 and p99 of each app and the ratios.
It measures and prints; it asserts nothing about the targets.

    python bench/run.py                          # defaults: 3 rounds x 10 s, ~5 minutes
    python bench/run.py --duration 5 --rounds 2  # quicker
    python bench/run.py --help
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # `python bench/run.py` from anywhere

from bench.build_db import Sizes, build  # noqa: E402

HOST = "127.0.0.1"  # loopback only, for both servers and the load generator
APPS = ("parley", "peer")
TARGET_RPS_RATIO = 2.0  # Parley's target: >= 2x the peer's requests/s ...
TARGET_TAIL_RATIO = 2.0  # ... with p99/p50 <= 2. Printed next to the results, never asserted.
# Parley rate-limits per client (per API key, else per address; 600 requests/minute by default), and
# Litestar's limiter re-reads and re-writes that client's whole request history on every request.
# wrk is one address sending thousands of requests a second: it would be throttled to 429s, and with
# the limit raised it would make the history (and each request) grow without bound. Real load comes
# from many clients, so the load generator spreads its requests over `--clients` addresses sent as
# X-Forwarded-For, and Parley trusts loopback as its proxy: the limiter stays in the request path at
# its production setting, with per-client state of realistic size. The peer ignores the header.
PARLEY_ENV = {"PARLEY_TRUSTED_PROXIES": HOST}

# The wrk script: rotate over the client addresses; at the end, done() prints the numbers we need on
# one parseable line, in microseconds, instead of scraping wrk's unit-suffixed latency distribution.
WRK_LUA = """
local clients = %(clients)d
local requests = {}
local n = 0

-- One pre-formatted request per client address, so the per-request cost in wrk stays tiny.
init = function(args)
  for i = 1, clients do
    requests[i] = wrk.format(nil, nil, {["X-Forwarded-For"] = string.format(
      "10.%%d.%%d.%%d", math.floor(i / 65536) %% 256, math.floor(i / 256) %% 256, i %% 256)})
  end
end

request = function()
  n = n %% clients + 1
  return requests[n]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f %%.1f %%d %%d %%d %%d %%d\\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Measurement:
    """One load run against one app: throughput and latency in milliseconds."""

    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int  # socket errors, timeouts and non-2xx responses


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass(frozen=True)
class CpuPlan:
    """Which CPUs the load generator and the servers run on (None: not pinned)."""

    client: set[int] | None
    server: set[int] | None

    def describe(self) -> str:
        if self.client is None:
            return "not pinned"
        return f"client on CPU {sorted(self.client)}, servers on CPU {sorted(self.server or set())}"


@dataclass
class Results:
    """Every measurement, keyed by (endpoint, connections, app), in round order."""

    runs: dict[tuple[str, int, str], list[Measurement]] = field(default_factory=dict)

    def add(self, endpoint: str, connections: int, app: str, m: Measurement) -> None:
        self.runs.setdefault((endpoint, connections, app), []).append(m)

    def median(self, endpoint: str, connections: int, app: str) -> Measurement:
        ms = self.runs[(endpoint, connections, app)]
        return Measurement(
            rps=statistics.median(m.rps for m in ms), p50_ms=statistics.median(m.p50_ms for m in ms),
            p99_ms=statistics.median(m.p99_ms for m in ms), max_ms=max(m.max_ms for m in ms),
            requests=sum(m.requests for m in ms), errors=sum(m.errors for m in ms),
        )


# --- CLI ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="A/B benchmark of Parley against a FastAPI + pydantic peer.")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured run (default 10)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved A/B rounds; the median is reported (default 3)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of discarded load per app and endpoint (default 3)")
    p.add_argument("--connections", default="32,128", help="comma-separated connection counts (default 32,128)")
    p.add_argument("--endpoints", default="/v1/timeline,/v1/rounds", help="comma-separated paths")
    p.add_argument("--limit", type=int, default=100, help="page size requested (default 100)")
    p.add_argument("--clients", type=int, default=1000,
                   help="distinct client addresses the load is spread over (X-Forwarded-For; default 1000)")
    p.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto",
                   help="load generator; auto = wrk if installed, else a Python asyncio+httpx client")
    p.add_argument("--no-pin", action="store_true", help="do not pin client and servers to separate CPUs")
    p.add_argument("--db", type=Path, help="reuse this benchmark DB instead of building a fresh one")
    p.add_argument("--rows", default=f"{Sizes.rounds},{Sizes.exchanges},{Sizes.statements}",
                   help="synthetic rounds,exchanges,statements to add to the seed (default 5000,2000,3000)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (DB, server logs) afterwards")
    p.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    return p.parse_args(argv)


# --- environment ------------------------------------------------------------------------------


def cpu_plan(pin: bool) -> CpuPlan:
    """Client on the first allowed CPU, servers on the second, so they do not steal each other's time.

    Only one server is under load at a time, so both servers may share a CPU. With one CPU there is
    nothing to separate and nothing is pinned.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return CpuPlan(None, None)
    return CpuPlan({cpus[0]}, {cpus[1]})


def pinned_to(cpus: set[int] | None) -> Callable[[], None] | None:
    """A Popen preexec_fn setting the child's CPU affinity (inherited by granian's worker)."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("litestar", "msgspec", "fastapi", "pydantic", "granian", "uvloop", "httpx"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        found["wrk"] = (out.stdout or out.stderr).split("[")[0].replace("wrk", "").strip()
    return found


def source_fingerprint() -> str:
    """A short hash of Parley's sources (api/, schemas/), tying printed numbers to the code measured.

    The working tree can differ from any commit, so a commit id alone would not say what ran.
    """
    digest = hashlib.sha256()
    for path in sorted([*REPO.glob("api/**/*.py"), *REPO.glob("api/**/*.sql"), *REPO.glob("schemas/**/*.py")]):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- servers ----------------------------------------------------------------------------------


def start_server(name: str, target: str, env: dict[str, str], workdir: Path, cpus: set[int] | None,
                 workers: int = 1) -> Server:
    """`workers` granian workers (one by default) serving `target` (a factory) on a free loopback port."""
    port = free_port()
    log = workdir / f"{name}.log"
    command = [
        sys.executable, "-m", "granian", "--interface", "asgi", "--workers", str(workers), "--host", HOST,
        "--port", str(port), "--no-ws", "--log-level", "warning", "--factory", target,
    ]
    with log.open("wb") as out:
        # A new session: Ctrl-C in the terminal reaches only the runner, which then stops the
        # servers itself, in order; and the process group lets it stop granian's worker too.
        process = subprocess.Popen(
            command, cwd=REPO, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=pinned_to(cpus),
        )
    return Server(name, port, process, log)


def stop_server(server: Server) -> None:
    """SIGTERM to the server's own process group (granian shuts down gracefully), SIGKILL if it lingers."""
    if server.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=5)


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback URL we built)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_ready(server: Server, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            if get(server.base_url + path, timeout=2)[0] == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer {path} within {timeout:.0f} s:\n{server.log.read_text()[-2000:]}")


@contextlib.contextmanager
def running_servers(db_path: Path, workdir: Path, cpus: set[int] | None, probe: str) -> Iterator[dict[str, Server]]:
    servers: dict[str, Server] = {}
    try:
        servers["parley"] = start_server(
            "parley", "api.app:create_app", PARLEY_ENV | {"PARLEY_DATABASE_URL": f"sqlite:///{db_path}"}, workdir, cpus)
        servers["peer"] = start_server(
            "peer", "bench.peer:create_app", {"PEER_DATABASE_PATH": str(db_path)}, workdir, cpus)
        for server in servers.values():
            wait_ready(server, probe)
        yield servers
    finally:
        for server in servers.values():
            stop_server(server)


def check_same_pages(servers: dict[str, Server], paths: list[str], limit: int) -> list[str]:
    """Both apps answer 200 with the same items and next link; refuse to measure otherwise.

    Returns notes for the report (e.g. whether the bodies are identical as JSON).
    """
    notes = []
    for path in paths:
        pages = {}
        for name, server in servers.items():
            status, body = get(server.base_url + path)
            if status != 200:
                raise RuntimeError(f"{name} answered {status} to {path}: {body[:300]!r}")
            pages[name] = json.loads(body)
        parley, peer = pages["parley"], pages["peer"]
        if len(parley["items"]) != len(peer["items"]) or len(parley["items"]) != limit:
            raise RuntimeError(f"{path}: parley served {len(parley['items'])} items, peer {len(peer['items'])}, "
                               f"expected {limit}")
        ids = [item.get("id") or item["record"]["id"] for item in parley["items"]]
        peer_ids = [item.get("id") or item["record"]["id"] for item in peer["items"]]
        if ids != peer_ids or parley["next"] != peer["next"]:
            raise RuntimeError(f"{path}: the two apps serve different rows or next links")
        same = "identical JSON" if parley == peer else "same ids and next link, bodies differ"
        notes.append(f"{path}: both 200, {limit} items, {same}")
    return notes


# --- load generators --------------------------------------------------------------------------


def run_wrk(url: str, connections: int, duration: float, script: Path, cpus: set[int] | None) -> Measurement:
    """One wrk run; `script` rotates client addresses and reports in microseconds."""
    # One wrk thread per client CPU: more threads on one pinned core only add context switches.
    threads = max(1, min(len(cpus) if cpus else os.cpu_count() or 1, connections))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
               "--latency", "-s", str(script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, preexec_fn=pinned_to(cpus),
                         timeout=duration + 30)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH_RESULT")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    requests, duration_us, _bytes, p50, p99, max_us, _mean, *errors = (float(x) for x in line.split()[1:])
    return Measurement(rps=requests / (duration_us / 1e6), p50_ms=p50 / 1000, p99_ms=p99 / 1000,
                       max_ms=max_us / 1000, requests=int(requests), errors=int(sum(errors)))


def client_address(i: int) -> str:
    """The i-th simulated client's address, as the wrk script makes it."""
    return f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"


def run_httpx(url: str, connections: int, duration: float, clients: int) -> Measurement:
    """Fallback when wrk is missing: a closed loop of `connections` asyncio workers over keep-alive."""
    import asyncio

    import httpx

    async def main() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        errors = sent = 0
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
            start = time.perf_counter()
            deadline = start + duration

            async def worker() -> None:
                nonlocal errors, sent
                while time.perf_counter() < deadline:
                    sent += 1
                    headers = {"X-Forwarded-For": client_address(sent % clients + 1)}
                    t0 = time.perf_counter()
                    try:
                        response = await client.get(url, headers=headers)
                        await response.aread()
                        if response.status_code != 200:
                            errors += 1
                    except httpx.HTTPError:
                        errors += 1
                    latencies.append(time.perf_counter() - t0)

            await asyncio.gather(*(worker() for _ in range(connections)))
            return latencies, errors, time.perf_counter() - start

    latencies, errors, elapsed = asyncio.run(main())
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return Measurement(rps=len(latencies) / elapsed, p50_ms=pick(0.50), p99_ms=pick(0.99),
                       max_ms=latencies[-1] * 1000, requests=len(latencies), errors=errors)


# --- the schedule -------------------------------------------------------------------------------


def schedule(endpoints: list[str], connections: list[int], rounds: int) -> Iterator[tuple[int, str, int, tuple[str, str]]]:
    """(round, endpoint, connections, app order): the order flips every time, so neither app always goes first."""
    flip = 0
    for r in range(rounds):
        for endpoint in endpoints:
            for conns in connections:
                yield r, endpoint, conns, APPS if flip % 2 == 0 else APPS[::-1]
                flip += 1


Load = Callable[[str, int, float], Measurement]  # (url, connections, seconds) -> measurement


def measure(args: argparse.Namespace, servers: dict[str, Server], load: Load) -> Results:
    endpoints = [e.strip() for e in args.endpoints.split(",")]
    connections = [int(c) for c in args.connections.split(",")]
    url = lambda app, endpoint: f"{servers[app].base_url}{endpoint}?limit={args.limit}"  # noqa: E731

    # Warm-up: let imports, caches, branch predictors and SQLite's page cache settle; discarded.
    for endpoint in endpoints if args.warmup > 0 else []:
        for app in APPS:
            load(url(app, endpoint), max(connections), args.warmup)

    results = Results()
    total = len(endpoints) * len(connections) * args.rounds
    for n, (r, endpoint, conns, order) in enumerate(schedule(endpoints, connections, args.rounds), start=1):
        for app in order:
            m = load(url(app, endpoint), conns, args.duration)
            results.add(endpoint, conns, app, m)
            print(f"  [{n:>2}/{total}] round {r + 1} {endpoint:<13} c={conns:<4} {app:<6} "
                  f"{m.rps:>8.0f} req/s  p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms"
                  + (f"  errors {m.errors}" if m.errors else ""), flush=True)
            time.sleep(0.5)  # let the previous run's connections close before the next app starts
    return results


# --- report -------------------------------------------------------------------------------------


def report(results: Results, endpoints: list[str], connections: list[int], limit: int) -> str:
    lines = [
        f"Median over rounds (latency in ms). Targets: Parley rps >= {TARGET_RPS_RATIO:.0f}x peer, "
        f"p99/p50 <= {TARGET_TAIL_RATIO:.0f}.",
        "",
        f"{'endpoint':<22} {'conns':>5}  {'app':<6} {'req/s':>8} {'p50':>7} {'p99':>7} {'p99/p50':>8}"
        f"  {'rps range':>13}  {'errors':>6}",
    ]
    for endpoint in endpoints:
        for conns in connections:
            medians = {app: results.median(endpoint, conns, app) for app in APPS}
            for app in APPS:
                m = medians[app]
                spread = [x.rps for x in results.runs[(endpoint, conns, app)]]
                lines.append(
                    f"{endpoint + '?limit=' + str(limit):<22} {conns:>5}  {app:<6} {m.rps:>8.0f} {m.p50_ms:>7.2f} "
                    f"{m.p99_ms:>7.2f} {m.p99_ms / m.p50_ms:>8.2f}  {min(spread):>6.0f}-{max(spread):<6.0f}  {m.errors:>6}"
                )
            ratio = medians["parley"].rps / medians["peer"].rps
            tail = medians["parley"].p99_ms / medians["parley"].p50_ms
            verdict = "meets" if ratio >= TARGET_RPS_RATIO and tail <= TARGET_TAIL_RATIO else "misses"
            lines.append(f"{'':<22} {'':>5}  -> Parley/peer rps {ratio:.2f}x; Parley p99/p50 {tail:.2f}; "
                         f"peer p99/p50 {medians['peer'].p99_ms / medians['peer'].p50_ms:.2f}  ({verdict} target)")
            lines.append("")
    failed = sorted({app for (_, _, app), ms in results.runs.items() if any(m.errors for m in ms)})
    if failed:
        lines.append(f"WARNING: {', '.join(failed)} had socket errors, timeouts or non-2xx answers (errors column);"
                     " those numbers do not measure the endpoint. See the server logs (--keep).")
    return "\n".join(lines)


def write_json(path: Path, results: Results, meta: dict[str, object]) -> None:
    runs = [{"endpoint": e, "connections": c, "app": a, "runs": [asdict(m) for m in ms]}
            for (e, c, a), ms in results.runs.items()]
    path.write_text(json.dumps({"meta": meta, "results": runs}, indent=2))


# --- main ---------------------------------------------------------------------------------------


def choose_client(wanted: str, workdir: Path, clients: int, cpus: set[int] | None) -> tuple[str, Load]:
    has_wrk = shutil.which("wrk") is not None
    if wanted == "wrk" and not has_wrk:
        raise SystemExit("--client wrk: wrk is not installed (apt-get install -y wrk)")
    if wanted == "wrk" or (wanted == "auto" and has_wrk):
        script = workdir / "bench.lua"
        script.write_text(WRK_LUA % {"clients": clients})
        return "wrk", lambda url, conns, seconds: run_wrk(url, conns, seconds, script, cpus)
    if cpus is not None:
        os.sched_setaffinity(0, cpus)  # the in-process fallback client runs on the client CPU
    return "httpx", lambda url, conns, seconds: run_httpx(url, conns, seconds, clients)


def raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM (and SIGINT) take the same clean-up path as Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGINT explicitly too: a shell starting us in the background leaves SIGINT ignored, and then
    # Python would never raise KeyboardInterrupt and the servers would outlive an interrupted run.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_keyboard_interrupt)
    endpoints = [e.strip() for e in args.endpoints.split(",")]
    connections = [int(c) for c in args.connections.split(",")]
    cpus = cpu_plan(pin=not args.no_pin)
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    try:
        client_name, load = choose_client(args.client, workdir, args.clients, cpus.client)
        if args.db:
            db_path = args.db.resolve()
        else:
            db_path = workdir / "bench.db"
            rounds, exchanges, statements = (int(x) for x in args.rows.split(","))
            print(f"building {db_path} ...", flush=True)
            counts = build(db_path, Sizes(rounds, exchanges, statements))
            print(f"  rows: {counts}", flush=True)
        meta: dict[str, object] = {
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "client": client_name,
            "cpus": cpus.describe(), "versions": versions(), "duration_s": args.duration, "rounds": args.rounds,
            "warmup_s": args.warmup, "clients": args.clients, "db": str(db_path),
            "parley_sources": source_fingerprint(),
        }
        print(f"load generator: {client_name}" + ("" if client_name == "wrk" else
              "  (NOT wrk: a Python asyncio+httpx client, which saturates before fast servers do, "
              "so rps ratios are understated and latencies include client time)"))
        print(f"clients: load spread over {args.clients} addresses (X-Forwarded-For; Parley trusts {HOST} as its "
              "proxy, so its per-client rate limiter sees many ordinary clients)")
        print(f"cpus: {cpus.describe()}; Parley sources {meta['parley_sources']}; versions: {meta['versions']}")
        with running_servers(db_path, workdir, cpus.server, f"{endpoints[0]}?limit=1") as servers:
            for note in check_same_pages(servers, [f"{e}?limit={args.limit}" for e in endpoints], args.limit):
                print(f"check: {note}")
            print(f"measuring: warm-up {args.warmup:.0f} s per app and endpoint, then {args.rounds} interleaved "
                  f"rounds x {args.duration:.0f} s per app, endpoint and connection count", flush=True)
            results = measure(args, servers, load)
        print()
        print(report(results, endpoints, connections, args.limit))
        if args.json:
            write_json(args.json, results, meta)
            print(f"wrote {args.json}")
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    except (RuntimeError, subprocess.CalledProcessError) as error:  # nothing trustworthy to measure
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
