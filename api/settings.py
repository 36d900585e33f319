"""Settings from environment variables, read once."""

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_DATABASE_URL = "sqlite:///parley.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    # Reads are public unless a deployment says otherwise; writes always need a key.
    reads_require_key: bool = False
    # Requests per minute per API key, or per peer address for anonymous clients.
    rate_limit_per_minute: int = 600
    # Peers whose X-Forwarded-For is believed (a reverse proxy in front of Parley).
    trusted_proxies: frozenset[str] = frozenset()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, from `PARLEY_*` environment variables (see README)."""
    env = os.environ
    return Settings(
        database_url=env.get("PARLEY_DATABASE_URL", DEFAULT_DATABASE_URL),
        reads_require_key=env.get("PARLEY_READS_REQUIRE_KEY", "0").lower() in ("1", "true", "yes"),
        rate_limit_per_minute=int(env.get("PARLEY_RATE_LIMIT_PER_MINUTE", "600")),
        trusted_proxies=frozenset(p.strip() for p in env.get("PARLEY_TRUSTED_PROXIES", "").split(",") if p.strip()),
    )
