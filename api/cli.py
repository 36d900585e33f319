"""The `parley` command: serve, seed, openapi."""

import json
from pathlib import Path

import click

from api import db
from api.settings import get_settings, sqlite_path

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.json"


@click.group()
def main() -> None:
    """Parley: typed records of a war's diplomacy and front lines."""


def prepare_store() -> str:
    """Migrate the configured store and seed it when empty; returns a one-line report."""
    from api.seeding import is_empty, seed

    settings = get_settings()
    conn = db.connect(sqlite_path(settings.database_url))
    try:
        version = db.migrate(conn)
        if not is_empty(conn):
            return f"store {settings.database_url} at schema {version}; already has records, not seeded"
        summary = seed(conn)
        return f"store {settings.database_url} at schema {version}; seeded {summary.created} records"
    finally:
        conn.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API under granian; an empty store is migrated and seeded first."""
    from granian.constants import Interfaces
    from granian.server import Server

    click.echo(prepare_store())
    Server("api.app:create_app", address=host, port=port, workers=workers, interface=Interfaces.ASGI,
           factory=True).serve()


@main.command("seed")
def seed_command() -> None:
    """Migrate the store and load the seed records that are not there yet."""
    from api.seeding import seed

    conn = db.connect(sqlite_path(get_settings().database_url))
    try:
        db.migrate(conn)
        summary = seed(conn)
    finally:
        conn.close()
    click.echo(f"created {summary.created}, unchanged {summary.unchanged}")


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
