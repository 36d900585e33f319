"""A schemathesis check: schema-valid requests get a 409/412/422/428 only for a documented rule.

Schemathesis' `positive_data_acceptance` can only widen the accepted statuses, and widening them
to 422 once hid two write bugs (a one-field PATCH and a restore both answered "missing required
field"). This check narrows them again: a 409, 412, 422 or 428 to a request that matches the
schema must carry a problem `type` that

- the operation documents for that status (its response's examples in the OpenAPI document), and
- names a rule the schema cannot express (`beyond_schema` in `api.problems`): a reference to a
  record that does not exist, fields that disagree, a stale If-Match, a reused Idempotency-Key, …

A `validation` problem, or a plain `about:blank` one, to schema-valid input fails the run.

The project's own contract test imports this module; the schemathesis CLI loads it through
`tests/contract/schemathesis.toml` (`hooks`).
"""

import sys
from pathlib import Path
from typing import Any

import schemathesis

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the CLI loads this file by path

from api.problems import BY_URI  # noqa: E402

RULE_STATUSES = frozenset({409, 412, 422, 428})


def documented_types(raw_schema: dict[str, Any], operation: dict[str, Any], status: int) -> set[str]:
    """The problem types an operation's OpenAPI response for `status` lists as examples."""
    response = (operation.get("responses") or {}).get(str(status)) or {}
    media = (response.get("content") or {}).get("application/problem+json") or {}
    shared = (raw_schema.get("components") or {}).get("examples") or {}
    types = set()
    for example in (media.get("examples") or {}).values():
        ref = example.get("$ref", "")
        value = shared.get(ref.rsplit("/", 1)[-1], {}).get("value") if ref else example.get("value")
        if isinstance(value, dict) and isinstance(value.get("type"), str):
            types.add(value["type"])
    return types


def allowed_types(raw_schema: dict[str, Any], operation: dict[str, Any], status: int) -> set[str]:
    """Documented types of rules that a schema-valid request can break."""
    return {uri for uri in documented_types(raw_schema, operation, status) if uri in BY_URI and BY_URI[uri].beyond_schema}


@schemathesis.check
def documented_rules_only(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in RULE_STATUSES:
        return None
    operation = case.operation.definition.raw
    allowed = allowed_types(case.operation.schema.raw_schema, operation, response.status_code)
    try:
        body = response.json()
    except ValueError:
        body = None
    problem_type = body.get("type") if isinstance(body, dict) else None
    if problem_type not in allowed:
        detail = body.get("detail") if isinstance(body, dict) else response.text[:200]
        raise AssertionError(
            f"{operation.get('operationId')} answered {response.status_code} {problem_type!r} to a request that "
            f"matches the schema; it documents only {sorted(allowed) or 'no rule'} for that status. "
            f"Detail: {detail}"
        )
    return None
