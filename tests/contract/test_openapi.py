"""The committed openapi.json is the app's schema, and every operation documents its problems."""

import json
from pathlib import Path

from api.cli import OPENAPI_FILE, openapi_document, render_openapi

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def test_committed_openapi_matches_the_app() -> None:
    committed = Path(OPENAPI_FILE).read_text(encoding="utf-8")
    assert committed == render_openapi(), "openapi.json has drifted from the app: run `make openapi`"


def operations() -> list[tuple[str, str, dict[str, object]]]:
    document = openapi_document()
    return [
        (path, method, operation)
        for path, item in document["paths"].items()  # type: ignore[union-attr]
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_every_operation_has_an_id_tags_and_a_description() -> None:
    for path, method, operation in operations():
        assert operation.get("operationId"), (method, path)
        assert operation.get("tags"), (method, path)
        assert operation.get("description") or operation.get("summary"), (method, path)


def test_every_error_response_is_a_problem_document() -> None:
    for path, method, operation in operations():
        responses = operation["responses"]
        errors = {status: spec for status, spec in responses.items() if int(status) >= 400}
        assert "400" in errors, (method, path)
        for status, spec in errors.items():
            assert list(spec["content"]) == ["application/problem+json"], (method, path, status)
            assert spec["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/ProblemDetail"
            }


def test_lookups_by_id_document_404() -> None:
    for path, method, operation in operations():
        if path.endswith("}"):
            assert "404" in operation["responses"], (method, path)


def test_schema_is_served_live() -> None:
    document = openapi_document()
    assert json.loads(render_openapi()) == document
