"""The `parley` command: serve, seed, openapi."""

import json
import sqlite3
from pathlib import Path

import click

from api import db
from api.keys import KeyRepository, Scope
from api.settings import get_settings, sqlite_path

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.json"


@click.group()
def main() -> None:
    """Parley: typed records of a war's diplomacy and front lines."""


def open_store() -> sqlite3.Connection:
    conn = db.connect(sqlite_path(get_settings().database_url))
    db.migrate(conn)
    return conn


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


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--scope", type=click.Choice([s.value for s in Scope]), required=True,
              help="write: create and correct records; admin: also retract and restore.")
def keys_create(name: str, scope: str) -> None:
    """Create a key and print it once; only its digest is stored."""
    conn = open_store()
    try:
        key, token = KeyRepository(conn).create(name, Scope(scope))
    finally:
        conn.close()
    click.echo(f"created key {key.id} ({key.scope.value}) for {key.name!r}; it is shown only now:", err=True)
    click.echo(token)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    conn = open_store()
    try:
        for key in KeyRepository(conn).list_keys():
            state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
            click.echo(f"{key.id}  {key.scope.value:<5}  {state:<40}  {key.name}")
    finally:
        conn.close()


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (the part after `plk_`)."""
    conn = open_store()
    try:
        revoked = KeyRepository(conn).revoke(key_id)
    finally:
        conn.close()
    if not revoked:
        raise click.ClickException(f"no active key {key_id!r}")
    click.echo(f"revoked {key_id}")
if __name__ == "__main__":
    main()
