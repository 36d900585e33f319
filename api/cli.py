"""The `parley` command: serve, seed, openapi."""

from __future__ import annotations

import json
import multiprocessing
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from api import db
from api.db import Connection, Store
from api.keys import KeyRepository, Scope
from api.settings import get_settings

if TYPE_CHECKING:
    from api.forecasts import ForecastService

T = TypeVar("T")

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.json"


@click.group()
def main() -> None:
    """Parley: typed records of a war's diplomacy and front lines."""


def on_store(work: Callable[[Store], Awaitable[T]]) -> T:
    """`work` on the configured store, migrated first; for commands, which are synchronous."""

    async def migrated(store: Store) -> T:
        async with store.connection() as conn:
            await db.migrate(conn)
        return await work(store)

    return db.run_on_store(get_settings().database_url, migrated)


def on_connection(work: Callable[[Connection], Awaitable[T]]) -> T:
    """`work` on one connection to the configured store, migrated first."""

    async def borrowing(store: Store) -> T:
        async with store.connection() as conn:
            return await work(conn)

    return on_store(borrowing)


def prepare_store() -> str:
    """Migrate the configured store and bring its seed records up to date (as `parley seed`: what
    is missing is created, what an earlier seed wrote and the seed data has changed since is
    corrected, and what people corrected or retracted is left alone); returns a one-line report.

    So a store made by an earlier version gains the shipped data's corrections on its next start.
    The store is closed again afterwards: the server's workers open their own."""
    from api.seeding import seed

    url = get_settings().database_url

    async def prepare(conn: Connection) -> str:
        version = await db.schema_version(conn)
        summary = await seed(conn)
        return (f"store {url} at schema {version}; seeded {summary.created} records, corrected {summary.corrected}, "
                f"{summary.unchanged} unchanged, {summary.kept} kept as people changed them")

    return on_connection(prepare)


def prepare_store_in_child() -> str:
    """`prepare_store` in a fresh (spawned, not forked) process.

    Seeding uses polars, and polars (like BLAS) starts a thread pool on first use. Granian then
    forks its workers from this process, and a thread pool does not survive a fork: a worker's
    first polars call would wait forever on threads that are not there. So the serving process
    never uses polars itself; the child that seeds exits before any worker is forked.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as child:
        return child.submit(prepare_store).result()


def check_port_free(host: str, port: int) -> None:
    """Refuse a port some server already listens on. Granian binds with SO_REUSEPORT, so a second
    server would otherwise listen beside the first and the kernel would split requests between
    them; a plain bind (SO_REUSEADDR only, which skips sockets in TIME_WAIT) fails instead."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}; is another server "
                                       "running there?") from error


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API under granian; the store is migrated and its seed records brought up to date first."""
    from granian.constants import Interfaces
    from granian.server import Server

    check_port_free(host, port)
    click.echo(prepare_store_in_child())
    Server("api.app:create_app", address=host, port=port, workers=workers, interface=Interfaces.ASGI,
           factory=True, workers_kill_timeout=get_settings().shutdown_timeout).serve()


@main.command("seed")
def seed_command() -> None:
    """Migrate the store, load the seed records it lacks and correct those an earlier seed wrote."""
    from api.seeding import seed

    summary = on_connection(seed)
    click.echo(f"created {summary.created}, corrected {summary.corrected}, unchanged {summary.unchanged}, "
               f"kept {summary.kept} changed by others since")


def openapi_document() -> dict[str, object]:
    """The OpenAPI document the app serves, generated without starting it."""
    from api.app import create_app

    return create_app().openapi_schema.to_schema()


def render_openapi() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@main.command()
@click.option("--output", type=click.Path(path_type=Path), default=OPENAPI_FILE, show_default=True)
@click.option("--check", is_flag=True, help="Exit 1 if the file differs from the app's schema.")
def openapi(output: Path, check: bool) -> None:
    """Write the app's OpenAPI document (the committed openapi.json)."""
    text = render_openapi()
    if check:
        if not output.exists() or output.read_text(encoding="utf-8") != text:
            raise click.ClickException(f"{output} is out of date: run `parley openapi`")
        click.echo(f"{output} is up to date")
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--scope", type=click.Choice([s.value for s in Scope]), required=True,
              help="write: create and correct records; admin: also retract and restore.")
def keys_create(name: str, scope: str) -> None:
    """Create a key and print it once; only its digest is stored."""
    key, token = on_connection(lambda conn: KeyRepository(conn).create(name, Scope(scope)))
    click.echo(f"created key {key.id} ({key.scope.value}) for {key.name!r}; it is shown only now:", err=True)
    click.echo(token)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    for key in on_connection(lambda conn: KeyRepository(conn).list_keys()):
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        click.echo(f"{key.id}  {key.scope.value:<5}  {state:<40}  {key.name}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (the part after `plk_`)."""
    revoked = on_connection(lambda conn: KeyRepository(conn).revoke(key_id))
    if not revoked:
        raise click.ClickException(f"no active key {key_id!r}")
    click.echo(f"revoked {key_id}")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--collection", type=click.Choice(["actors", "sources", "fronts", "tracks", "rounds", "exchanges",
                                                 "statements", "front-reports"]),
              help="The rows' collection; NDJSON rows may instead carry a `collection` field.")
@click.option("--format", "fmt", type=click.Choice(["csv", "ndjson", "acled"]),
              help="Default: from the extension (.csv, .ndjson). acled: weekly front reports from an ACLED export.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows and report the invalid ones.")
@click.option("--front-map", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='acled only: JSON {"ACLED admin1": "front id"} over the default map; null drops an oblast.')
def import_command(file: Path, collection: str | None, fmt: str | None, skip_invalid: bool,
                   front_map: Path | None) -> None:
    """Import records from a CSV or NDJSON file, or an ACLED export as weekly front reports.

    Rows match stored records by external_id (events) or id: identical rows are left alone,
    changed ones become `correct` revisions. Any invalid row stops the whole import unless
    --skip-invalid; the import is one transaction either way.
    """
    import sys
    from contextlib import AbstractContextManager, nullcontext

    from api import imports

    if fmt == "acled" and collection is not None:
        raise click.UsageError("--collection does not apply to --format acled (it makes front reports)")
    if fmt != "acled" and front_map is not None:
        raise click.UsageError("--front-map applies only to --format acled")
    tty = sys.stdout.isatty()
    try:
        if fmt == "acled":
            oblasts = imports.read_front_map(front_map)
            missing = on_connection(lambda conn: imports.missing_fronts(conn, oblasts))
            if missing:
                raise click.ClickException(f"the front map names fronts the store does not hold: "
                                           f"{', '.join(missing)}; create them first (POST /v1/fronts, or "
                                           f"parley import --collection fronts)")
            status: AbstractContextManager[object] = nullcontext()
            if tty:
                from rich.console import Console

                status = Console().status(f"aggregating {file.name}")
            with status:
                rows = imports.parse_acled(file, oblasts)
        else:
            rows = imports.parse_file(file, fmt)
    except imports.ImportFileError as error:
        raise click.ClickException(str(error)) from error

    progress: AbstractContextManager[object] = nullcontext()
    ticks = [imports.no_tick, imports.no_tick]
    if tty:
        from rich.progress import Progress

        bar = Progress(transient=True)
        tasks = [bar.add_task(label, total=len(rows)) for label in ("checking", "writing")]
        ticks = [lambda task=task: bar.advance(task) for task in tasks]
        progress = bar
    with progress:
        summary = on_connection(lambda conn: imports.run_import(
            conn, rows, reason=f"import {file.name}", collection=collection, skip_invalid=skip_invalid,
            validate_tick=ticks[0], write_tick=ticks[1]))
    for error in summary.errors:
        click.echo(str(error), err=True)
    click.echo(summary.line() + ("" if summary.written else "; nothing written"))
    if summary.rejected and not skip_invalid:
        sys.exit(1)


@main.command("forecast")
@click.argument("track")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]),
              help="Use the records reported by this day (default: today, UTC).")
@click.option("--horizon", "horizons", type=click.IntRange(1, 52), multiple=True,
              help="Weeks ahead, 1-52; repeat for several (default: 2, 4, 8, 13).")
def forecast_command(track: str, as_of: datetime | None, horizons: tuple[int, ...]) -> None:
    """P(TRACK holds its next round within H weeks): what GET /v1/forecasts/tracks/TRACK answers."""
    from api.forecasts import render_forecast

    body = forecast_answer(lambda service: service.forecast(track, as_of.date() if as_of else None, horizons))
    print_renderables(render_forecast(body))


@main.command("backtest")
def backtest_command() -> None:
    """The rolling-origin backtest of the forecaster: what GET /v1/forecasts/backtest answers."""
    from rich.progress import Progress

    from api.forecasts import render_backtest

    with Progress(transient=True) as progress:
        task = progress.add_task("backtest origins", total=None)
        body = forecast_answer(lambda service: service.backtest(
            on_origin=lambda done, total: progress.update(task, completed=done, total=total)))
    print_renderables(render_backtest(body))


FIGURES_DIR = Path(__file__).resolve().parent.parent / "docs" / "figures"


@main.command("figures")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=FIGURES_DIR, show_default=True)
@click.option("--track", default="istanbul-talks", show_default=True, help="The track whose forecast path is drawn.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default="2026-06-07", show_default=True)
def figures_command(output: Path, track: str, as_of: datetime) -> None:
    """Write the README's figures: the backtest's reliability diagrams and a forecast path, as SVG
    (what GET /v1/forecasts/backtest/reliability.svg and …/tracks/TRACK/path.svg answer)."""
    from schemas.forecast import Population

    output.mkdir(parents=True, exist_ok=True)
    figures = {
        "reliability-live.svg": lambda service: service.reliability_svg(Population.LIVE),
        "reliability-all.svg": lambda service: service.reliability_svg(Population.ALL),
        f"path-{track}-{as_of.date().isoformat()}.svg": lambda service: service.path_svg(track, as_of.date()),
    }
    for name, call in figures.items():
        (output / name).write_bytes(forecast_answer(call))
        click.echo(f"wrote {output / name}")


def forecast_answer(call: Callable[[ForecastService], Awaitable[bytes]]) -> bytes:
    """The answer, or the API's problem detail as the command's error."""
    from litestar.plugins.problem_details import ProblemDetailsException

    from api.forecasts import ForecastService

    try:
        return on_store(lambda store: call(ForecastService(store)))
    except ProblemDetailsException as problem:
        raise click.ClickException(str(problem.detail)) from problem


def print_renderables(renderables: list[object]) -> None:
    from rich.console import Console

    console = Console()
    for renderable in renderables:
        console.print(renderable)


if __name__ == "__main__":
    main()
