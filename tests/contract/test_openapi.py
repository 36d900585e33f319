"""The committed openapi.json is the app's schema, and every operation documents its problems."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from contract.problem_rules import documented_types

from api.app import create_app
from api.cli import OPENAPI_FILE, openapi_document, render_openapi
from api.problems import BY_URI
from api.settings import Settings
from schemas.records import Round
from schemas.types import SLUG_PATTERN

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


# --- the document says what the server enforces ------------------------------------------------


def components() -> dict[str, Any]:
    return openapi_document()["components"]["schemas"]  # type: ignore[index]


def walk(node: object, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def test_list_items_carry_their_constraints() -> None:
    schemas = components()
    slug = {"pattern": SLUG_PATTERN, "minLength": 1, "maxLength": 64}
    for component, field in [("TrackCreate", "parties"), ("TrackCreate", "mediators"), ("RoundCreate", "sources"),
                             ("RoundCreate", "delegation_heads"), ("Round", "mediators")]:
        items = schemas[component]["properties"][field]["items"]
        assert slug.items() <= items.items(), (component, field, items)
    assert {"minLength": 1, "maxLength": 200}.items() <= schemas["FrontCreate"]["properties"]["oblasts"]["items"].items()
    assert {"minLength": 1, "maxLength": 500}.items() <= schemas["RoundCreate"]["properties"]["topics"]["items"].items()
    horizons = schemas["ScenarioRequest"]["properties"]["horizons"]["items"]
    assert (horizons.get("minimum"), horizons.get("maximum")) == (1, 52), horizons


def test_request_bodies_forbid_unknown_fields() -> None:
    document, schemas = openapi_document(), components()
    bodies = [op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
              for _, _, op in operations() if "requestBody" in op]
    assert len(bodies) >= 17, bodies  # create, correct and restore of 8 collections, and the scenario
    for name in bodies:
        assert schemas[name].get("additionalProperties") is False, name
    assert document  # (the document itself is checked for drift above)


def test_responses_require_every_field_they_always_send() -> None:
    schemas = components()
    for name in ("Round", "Exchange", "Statement", "FrontReport", "Track", "Actor", "Source", "Front", "RoundPage"):
        assert sorted(schemas[name]["required"]) == sorted(schemas[name]["properties"]), name
    assert len(schemas["Round"]["required"]) == len(Round.__struct_fields__)
    # A problem omits what it does not know (msgspec's omit_defaults and UNSET).
    assert sorted(schemas["ProblemDetail"]["required"]) == ["status", "title", "type"]


def test_response_headers_are_declared() -> None:
    paths = openapi_document()["paths"]
    record, page = paths["/v1/rounds/{round_id}"], paths["/v1/rounds"]  # type: ignore[index]
    assert {"ETag", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"} <= set(
        record["get"]["responses"]["200"]["headers"])
    assert "ETag" in record["get"]["responses"]["304"]["headers"]
    assert {"ETag", "Location"} <= set(page["post"]["responses"]["201"]["headers"])
    assert {"ETag", "Location"} <= set(record["patch"]["responses"]["200"]["headers"])
    assert "Link" in page["get"]["responses"]["200"]["headers"]
    for path, method, operation in operations():
        for status in ("429", "503"):
            if status in operation["responses"]:
                assert "Retry-After" in operation["responses"][status]["headers"], (method, path, status)


def test_every_operation_states_its_security() -> None:
    for path, method, operation in operations():
        assert "security" in operation, (method, path)
        writes = method != "get" and path != "/v1/forecasts/scenarios"
        assert (operation["security"] == [{"apiKey": []}]) is writes, (method, path, operation["security"])


def test_reads_need_a_key_in_the_document_when_the_deployment_says_so() -> None:
    document = create_app(Settings(database_url="sqlite:///unused.db", reads_require_key=True)).openapi_schema.to_schema()
    assert document["paths"]["/v1/rounds"]["get"]["security"] == [{"apiKey": []}]
    assert document["paths"]["/health"]["get"]["security"] == []


def test_no_single_member_composition_and_every_reference_resolves() -> None:
    document = openapi_document()
    for path, node in walk(document):
        for keyword in ("oneOf", "anyOf", "allOf"):
            assert len(node.get(keyword, [None, None])) >= 2, path
        ref = node.get("$ref")
        if isinstance(ref, str):
            target: Any = document
            for part in ref.removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            assert isinstance(target, dict), (path, ref)


def test_parameters_are_never_null() -> None:
    for path, method, operation in operations():
        for parameter in operation.get("parameters", []):
            assert all(node.get("type") != "null" for _, node in walk(parameter["schema"])), (method, path, parameter)


def test_rule_statuses_name_their_problem_types() -> None:
    """Each 409/412/422/428 an operation documents lists the problem types it can carry, all
    of them defined in api.problems; the contract test accepts only those."""
    raw = openapi_document()
    for path, method, operation in operations():
        for status in ("409", "412", "422", "428"):
            if status in operation["responses"]:
                types = documented_types(raw, operation, int(status))
                assert types, (method, path, status)
                assert types <= set(BY_URI), (method, path, status, types)
                assert all(int(status) in BY_URI[uri].statuses for uri in types), (method, path, status)
