"""A client generated from the committed openapi.json by openapi-python-client, used as an
integrator would against `parley serve`: page through rounds, read one, correct it, retract it and
restore it. The generated models parse every response, so a field the document calls required
but a response leaves out fails here."""

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from helpers import running_server

from api.cli import OPENAPI_FILE

PACKAGE = "parley_client"


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated client package, importable for this module's tests."""
    folder = tmp_path_factory.mktemp("generated")
    config = folder / "config.yml"
    # No post hooks: formatting the output (ruff) is not what is tested. The generator knows no
    # image types; an SVG figure is bytes to a client, as its own docs suggest mapping it.
    config.write_text(f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\npost_hooks: []\n"
                      "content_type_overrides:\n  image/svg+xml: application/octet-stream\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(generator), "generate", "--path", str(OPENAPI_FILE), "--config", str(config),
         "--output-path", str(folder / PACKAGE)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder / PACKAGE))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder / PACKAGE))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_generated_models_require_what_responses_always_send(client_package: ModuleType) -> None:
    """openapi-python-client marks a field optional (`Unset`) unless the document requires it."""
    for model in ("Round", "Exchange", "Statement", "FrontReport", "Track", "Actor", "Source", "Front"):
        cls = getattr(module("models"), model)
        optional = [f.name for f in attrs.fields(cls) if f.default is not attrs.NOTHING and f.name != "additional_properties"]
        assert optional == [], (model, optional)


def test_page_read_correct_retract_and_restore_through_the_generated_client(
    client_package: ModuleType, seeded_url: str, keys: dict[str, str]
) -> None:
    negotiations = "api.negotiations"
    list_rounds, get_round = module(f"{negotiations}.list_rounds"), module(f"{negotiations}.get_round")
    correct_round, retract_round = module(f"{negotiations}.correct_round"), module(f"{negotiations}.retract_round")
    restore_round = module(f"{negotiations}.restore_round")
    models = module("models")
    with running_server(seeded_url) as server:
        anonymous = client_package.Client(base_url=server.url, raise_on_unexpected_status=True)
        writer = client_package.AuthenticatedClient(base_url=server.url, token=keys["write"])
        admin = client_package.AuthenticatedClient(base_url=server.url, token=keys["admin"])

        # Page through the Istanbul track's rounds one at a time, following `next`.
        seen, cursor = [], module("types").UNSET
        while True:
            page = list_rounds.sync(client=anonymous, track="istanbul-talks", limit=1, cursor=cursor)
            assert isinstance(page, models.RoundPage), page
            seen += [r.id for r in page.items]
            if page.next_ is None:
                break
            cursor = parse_qs(urlsplit(page.next_).query)["cursor"][0]
        assert len(seen) == len(set(seen)) >= 2

        read = get_round.sync_detailed(seen[0], client=anonymous)
        assert read.status_code == 200 and isinstance(read.parsed, models.Round)
        etag = read.headers["etag"]

        corrected = correct_round.sync_detailed(
            seen[0], client=writer, if_match=etag,
            body=models.RoundPatch(reason="Summary checked against the source", summary="Corrected through the client."),
        )
        assert corrected.status_code == 200, corrected.content
        assert corrected.parsed.summary == "Corrected through the client."
        assert corrected.parsed.revision == read.parsed.revision + 1

        retracted = retract_round.sync_detailed(seen[0], client=admin, reason="Duplicate entry",
                                                if_match=corrected.headers["etag"])
        assert retracted.status_code == 204, retracted.content
        assert get_round.sync_detailed(seen[0], client=anonymous).status_code == 404

        restored = restore_round.sync_detailed(seen[0], client=admin, body=models.Retraction(reason="Not a duplicate"))
        assert restored.status_code == 200, restored.content
        again = get_round.sync(seen[0], client=anonymous)
        assert isinstance(again, models.Round)
        assert again.summary == "Corrected through the client." and again.revision == corrected.parsed.revision + 2
