"""Small helpers shared by test modules (pytest's importlib mode cannot import conftest)."""

from pathlib import Path


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
