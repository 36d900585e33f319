"""Run ids: what a set of numbers depends on, so that the same id reproduces the same numbers.

A run id is the sha256 of the data fingerprint (every record and observation window read), the
git commit of the code and the versions of the packages that compute the numbers. The commit is
the last one that changed the code (`CODE_PATHS`), so a commit of documentation alone leaves run
ids as they were; it is read once per process from the checkout the package runs from
(`PARLEY_GIT_COMMIT` overrides it, for installs without a checkout). A checkout with uncommitted
changes to the code is marked `+dirty`, since its commit alone does not say what ran.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Final

from forecasting.hazard import MODEL_VERSION
from schemas.forecast import RunInfo

PACKAGES: Final = ("parley", "numpy", "scipy", "statsmodels", "polars", "msgspec")
CODE_PATHS: Final = ("forecasting", "schemas", "api", "seeds", "pyproject.toml")
_ROOT: Final = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=_ROOT, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


@cache
def git_commit() -> str:
    """The last commit that changed the code, `+dirty` if the code has uncommitted changes."""
    override = os.environ.get("PARLEY_GIT_COMMIT")
    if override:
        return override
    commit = _git("log", "-1", "--format=%H", "--", *CODE_PATHS)
    if not commit:
        return "unknown"
    dirty = _git("status", "--porcelain", "--", *CODE_PATHS)
    return commit + ("+dirty" if dirty else "")


@cache
def package_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_info(data_fingerprint: str) -> RunInfo:
    """The run id of numbers computed from this data by this code and these packages."""
    commit = git_commit()
    packages = package_versions()
    h = hashlib.sha256()
    for part in (data_fingerprint, commit, MODEL_VERSION, *(f"{k}={v}" for k, v in sorted(packages.items()))):
        h.update(part.encode())
        h.update(b"\x1f")
    return RunInfo(
        run_id=h.hexdigest()[:16],
        data_fingerprint=data_fingerprint,
        git_commit=commit,
        packages=packages,
        model_version=MODEL_VERSION,
    )
