"""Settings from environment variables, read once."""

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///parley.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    # Pages link to their successors with relative URLs, so no public base URL is needed here.
    max_page_size: int = 500


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings: `PARLEY_DATABASE_URL` names the store (default: ./parley.db)."""
    return Settings(database_url=os.environ.get("PARLEY_DATABASE_URL", DEFAULT_DATABASE_URL))


def sqlite_path(database_url: str) -> Path:
    """The file behind a `sqlite:///relative` or `sqlite:////absolute` URL."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        raise ValueError(f"unsupported database URL {database_url!r}: expected {prefix}PATH")
    return Path(database_url[len(prefix) :])
