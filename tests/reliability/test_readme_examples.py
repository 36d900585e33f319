"""Every `curl` example in the README, run by curl through bash exactly as written, against
`parley serve` started on a fresh store as `make run` starts it.

A README example once could not run at all (a phrase query with raw spaces, which curl refuses
as a malformed URL), and another answered an empty list; no test read the README.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from helpers import bearer, parley, running_server

README = Path(__file__).resolve().parents[2] / "README.md"
README_ORIGIN = "http://127.0.0.1:8000"
# Examples with a placeholder a reader fills in from an earlier answer (`stm_…`, `If-Match: "…"`).
PLACEHOLDER = "…"


def readme_curl_commands() -> list[str]:
    """The `curl` commands of the README's sh blocks, backslash continuations joined."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("curl ") and PLACEHOLDER not in line:
                commands.append(line)
    return commands


COMMANDS = readme_curl_commands()


def test_the_readme_has_examples_to_run() -> None:
    # A change to the README's layout must not quietly leave the test below with nothing to run.
    assert len(COMMANDS) >= 10
    assert any(c.startswith("curl -X POST") for c in COMMANDS)


def test_every_readme_curl_example_answers_on_a_fresh_make_run_store(database_url: str, tmp_path: Path) -> None:
    assert shutil.which("curl") and shutil.which("bash"), "the README's examples are curl commands run from bash"
    with running_server(database_url) as server:
        key = parley("keys", "create", "--name", "readme", "--scope", "write",
                     env={"PARLEY_DATABASE_URL": database_url}).stdout.strip().splitlines()[-1]
        body = tmp_path / "body"
        for command in COMMANDS:
            run = command.replace(README_ORIGIN, server.url).replace(
                "curl ", f"curl -sS --max-time 60 -o '{body}' -w '%{{http_code}}' ", 1)
            done = subprocess.run(["bash", "-c", run], env={"KEY": key, "PATH": "/usr/bin:/bin"},
                                  capture_output=True, text=True, timeout=90, check=False)
            assert done.returncode == 0, (command, done.stderr)
            expected = "201" if " -X POST " in command else "200"
            assert done.stdout == expected, (command, done.stdout, body.read_text()[:500])
            if body.read_bytes().startswith(b"{"):
                answer = json.loads(body.read_bytes())
                # A list example that finds nothing shows a reader nothing.
                assert answer.get("items", [None]), (command, "answered an empty list")
        assert httpx.get(f"{server.url}/health", headers=bearer(key), timeout=10).status_code == 200
