"""Settings from environment variables, read once."""

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from api.db import DEFAULT_POOL_SIZE

DEFAULT_DATABASE_URL = "sqlite:///parley.db"
# The project's shared data folder sits beside the repository; newer timeline_*.csv files that
# appear there are seeded too (the copies shipped in seeds/data win on a name clash).
SHARED_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    # Reads are public unless a deployment says otherwise; writes always need a key.
    reads_require_key: bool = False
    # Requests per minute per API key, or per peer address for anonymous clients.
    rate_limit_per_minute: int = 600
    # Peers whose X-Forwarded-For is believed (a reverse proxy in front of Parley).
    trusted_proxies: frozenset[str] = frozenset()
    # Folders searched for further timeline_*.csv history files, besides seeds/data.
    extra_history_dirs: tuple[Path, ...] = ()
    # PostgreSQL connections per worker process (SQLite has one).
    pool_size: int = DEFAULT_POOL_SIZE
    # Seconds a handler may run before the client gets a 503 (see api.timeouts); the backtest,
    # which refits the model at every origin when its cache is cold, has a limit of its own.
    request_timeout: float = 30.0
    backtest_timeout: float = 300.0
    # Seconds `parley serve` waits for its workers to finish in-flight requests on SIGTERM or
    # SIGINT before it kills them.
    shutdown_timeout: int = 10


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, from `PARLEY_*` environment variables (see README)."""
    env = os.environ
    return Settings(
        database_url=env.get("PARLEY_DATABASE_URL", DEFAULT_DATABASE_URL),
        reads_require_key=env.get("PARLEY_READS_REQUIRE_KEY", "0").lower() in ("1", "true", "yes"),
        rate_limit_per_minute=int(env.get("PARLEY_RATE_LIMIT_PER_MINUTE", "600")),
        trusted_proxies=frozenset(p.strip() for p in env.get("PARLEY_TRUSTED_PROXIES", "").split(",") if p.strip()),
        pool_size=int(env.get("PARLEY_POOL_SIZE", str(DEFAULT_POOL_SIZE))),
        request_timeout=float(env.get("PARLEY_REQUEST_TIMEOUT", "30")),
        backtest_timeout=float(env.get("PARLEY_BACKTEST_TIMEOUT", "300")),
        shutdown_timeout=int(env.get("PARLEY_SHUTDOWN_TIMEOUT", "10")),
        extra_history_dirs=tuple(
            Path(p) for p in env.get("PARLEY_HISTORY_DIRS", str(SHARED_DATA_DIR)).split(os.pathsep) if p
        ),
    )
