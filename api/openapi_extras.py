"""What the generated OpenAPI document needs beyond what Litestar derives from handlers.

Everything here is derived from the handlers, the Structs and the app's configuration, once,
when the app is built, so a field, operation or collection added later is covered too:
- schemas of Structs and enums come from msgspec itself (`msgspec.json.schema_components`), which
  keeps every `Meta` constraint (list items included), says `additionalProperties: false` where a
  Struct forbids unknown fields, and writes nullable fields as `anyOf` with `null`. Litestar's own
  schemas drop constraints of list items and write single-member `oneOf`s;
- a Struct that only ever leaves the server lists every field it always sends as `required`,
  without a `default` (msgspec's schema describes decoding, where such a field may be left out);
- parameters are never `null` on the wire, so their schemas lose the `null` alternative;
- links from each record to its correction and retraction, carrying the ETag, so clients (and
  schemathesis' stateful tests) learn that a correction takes `If-Match` from `ETag`, and from a
  retraction to the restore that undoes it;
- the CSV, NDJSON and Parquet forms of every list operation's 200 response;
- response headers Litestar cannot declare per status: the rate-limit headers of rate-limited
  operations, `Retry-After` on 429 and 503, and `ETag` on 304;
- `security` on every operation: `[]` where no key is needed.
"""

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from litestar import Litestar, Response
# Private, but the only handle on the app's cached document (Litestar 2; pinned below 3).
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Example,
    Link,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
    Schema,
    SecurityRequirement,
)
from litestar.openapi.spec.enums import OpenAPIType

from api.collections import ALL
from api.exports import MEDIA_TYPES, ExportFormat
from api.problems import PROBLEM_MEDIA_TYPE
from schemas.problem import ProblemDetail

REF_TEMPLATE = "#/components/schemas/{name}"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operation_name(record_kind: str) -> str:
    return "".join(part.title() for part in record_kind.split("_"))


def operations(document: OpenAPI) -> Iterator[tuple[str, Operation]]:
    for path, item in (document.paths or {}).items():
        for method in HTTP_METHODS:
            operation = getattr(item, method, None)
            if operation is not None:
                yield path, operation


def schema_handlers(app: Litestar) -> list[HTTPRouteHandler]:
    return [
        handler for route in app.routes for handler in getattr(route, "route_handlers", ())
        if isinstance(handler, HTTPRouteHandler) and handler.resolve_include_in_schema()
    ]


# --- schemas from msgspec ----------------------------------------------------------------------


def _structs(types: Iterable[Any]) -> set[type[msgspec.Struct]]:
    """Every Struct class reachable from `types`."""
    found: set[type[msgspec.Struct]] = set()

    def visit(info: msgspec.inspect.Type) -> None:
        if isinstance(info, msgspec.inspect.StructType):
            if info.cls in found:
                return
            found.add(info.cls)
            for field in info.fields:
                visit(field.type)
        elif isinstance(info, msgspec.inspect.Metadata):
            visit(info.type)
        elif isinstance(info, msgspec.inspect.UnionType):
            for member in info.types:
                visit(member)
        elif isinstance(info, (msgspec.inspect.ListType, msgspec.inspect.SetType, msgspec.inspect.FrozenSetType,
                               msgspec.inspect.VarTupleType)):
            visit(info.item_type)
        elif isinstance(info, msgspec.inspect.TupleType):
            for member in info.item_types:
                visit(member)
        elif isinstance(info, msgspec.inspect.DictType):
            visit(info.value_type)

    for info in msgspec.inspect.multi_type_info(list(types)):
        visit(info)
    return found


def _documentable(annotation: Any) -> bool:
    """Whether msgspec can describe the type (injected services and `Request` it cannot)."""
    try:
        msgspec.json.schema(annotation)
    except (TypeError, ValueError):
        return False
    return True


def handler_types(handlers: Iterable[HTTPRouteHandler]) -> tuple[list[Any], list[Any]]:
    """(request body types, response and parameter types) of the handlers."""
    inputs: list[Any] = []
    outputs: list[Any] = [ProblemDetail]
    for handler in handlers:
        signature = handler.parsed_fn_signature
        returned = signature.return_type
        if returned.is_subclass_of(Response) or returned.origin is Response:
            returned = returned.inner_types[0] if returned.inner_types else None
        if returned is not None and _documentable(returned.annotation):
            outputs.append(returned.annotation)
        for name, field in signature.parameters.items():
            if name == "data":
                inputs.append(field.annotation)
            elif _documentable(field.annotation):
                outputs.append(field.annotation)  # enum-typed parameters have components too
    return inputs, outputs


def always_sent(struct: type[msgspec.Struct]) -> list[str]:
    """The fields an encoded `struct` always carries: all of them, except fields that may be
    UNSET and, when the Struct omits defaults, fields with a default."""
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    omit_defaults = struct.__struct_config__.omit_defaults
    sent = []
    for field in info.fields:
        has_default = field.default is not msgspec.NODEFAULT or field.default_factory is not msgspec.NODEFAULT
        may_be_unset = not field.required and not has_default
        if field.required or not (may_be_unset or (omit_defaults and has_default)):
            sent.append(field.encode_name)
    if info.tag_field is not None:
        sent.insert(0, info.tag_field)
    return sent


def use_msgspec_schemas(document: OpenAPI, handlers: Iterable[HTTPRouteHandler]) -> None:
    """Replace Litestar's component schemas with msgspec's (same names) and mark what responses
    always send as required."""
    inputs, outputs = handler_types(handlers)
    _, components = msgspec.json.schema_components([*inputs, *outputs], ref_template=REF_TEMPLATE)
    input_structs = _structs(inputs)
    for struct in _structs(outputs) - input_structs:
        schema = components.get(struct.__name__)
        if schema is not None:
            schema["required"] = always_sent(struct)
            # A default tells a client what the server assumes when a field is left out of a
            # request; a response never leaves these out.
            for name in schema["required"]:
                schema.get("properties", {}).get(name, {}).pop("default", None)
    if document.components is None or document.components.schemas is None:
        return
    schemas: dict[str, Any] = document.components.schemas  # type: ignore[assignment]
    schemas.update(components)


# --- parameters ------------------------------------------------------------------------------


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter schema without its `null` alternative (absent is how a client sends none), and
    without a composition of one schema (Litestar wraps a described `$ref` in a one-item `allOf`;
    OpenAPI 3.1 lets `$ref` have siblings)."""
    for keyword in ("oneOf", "anyOf", "allOf"):
        members = schema.get(keyword)
        if not members:
            continue
        kept = [s for s in members if s.get("type") != "null"] if keyword != "allOf" else members
        rest = {k: v for k, v in schema.items() if k != keyword}
        return {**kept[0], **rest} if len(kept) == 1 else {**rest, keyword: kept}
    return schema


def simplify_parameters(document: OpenAPI) -> None:
    for _, operation in operations(document):
        for parameter in operation.parameters or []:
            schema = getattr(parameter, "schema", None)
            if isinstance(schema, Schema):
                parameter.schema = _without_null(schema.to_schema())  # type: ignore[assignment]


# --- links and media types -----------------------------------------------------------------------


def add_record_links(document: OpenAPI) -> None:
    paths = document.paths or {}
    for collection in ALL:
        name, id_name = operation_name(collection.record_kind), f"{collection.record_kind}_id"
        item_path = f"/v1/{collection.name}/{{{id_name}}}"
        links = {
            f"Correct{name}": Link(
                operation_id=f"correct{name}",
                parameters={id_name: "$response.body#/id", "header.If-Match": "$response.header.ETag"},
                description=f"Correct this {collection.record_kind}, conditional on the version just read.",
            ),
            f"Retract{name}": Link(
                operation_id=f"retract{name}",
                parameters={id_name: "$response.body#/id", "header.If-Match": "$response.header.ETag"},
                description=f"Retract this {collection.record_kind}, conditional on the version just read.",
            ),
        }
        restore = {
            f"Restore{name}": Link(
                operation_id=f"restore{name}", parameters={id_name: f"$request.path.{id_name}"},
                description=f"Bring this {collection.record_kind} back.",
            )
        }
        collection_item, record_item = paths.get(f"/v1/{collection.name}"), paths.get(item_path)
        restore_item = paths.get(f"{item_path}/restore")
        responses = [
            (collection_item.post.responses.get("201") if collection_item and collection_item.post else None, links),
            (record_item.get.responses.get("200") if record_item and record_item.get else None, links),
            (record_item.patch.responses.get("200") if record_item and record_item.patch else None, links),
            (restore_item.post.responses.get("200") if restore_item and restore_item.post else None, links),
            (record_item.delete.responses.get("204") if record_item and record_item.delete else None, restore),
        ]
        for response, added in responses:
            if isinstance(response, OpenAPIResponse):
                response.links = {**(response.links or {}), **added}


def add_export_media_types(document: OpenAPI) -> None:
    """Every operation that takes `format=` answers 200 in each export format too."""
    alternatives = {
        MEDIA_TYPES[ExportFormat.CSV]: Schema(
            type=OpenAPIType.STRING,
            description="A header row, then one row per record; list and object fields are JSON text.",
        ),
        MEDIA_TYPES[ExportFormat.NDJSON]: Schema(type=OpenAPIType.STRING, description="One JSON item per line."),
        MEDIA_TYPES[ExportFormat.PARQUET]: Schema(type=OpenAPIType.STRING, format="binary",
                                                 description="An Apache Parquet file."),
    }
    for _, operation in operations(document):
        if not any(getattr(p, "name", None) == "format" for p in operation.parameters or []):
            continue
        ok = (operation.responses or {}).get("200")
        if not isinstance(ok, OpenAPIResponse) or ok.content is None:
            continue
        for media_type, schema in alternatives.items():
            ok.content[media_type] = OpenAPIMediaType(schema=schema)


# --- headers and security --------------------------------------------------------------------------


def _header(description: str, type_: OpenAPIType = OpenAPIType.STRING) -> OpenAPIHeader:
    return OpenAPIHeader(schema=Schema(type=type_), description=description)


def add_response_headers(document: OpenAPI, rate_limit_headers: dict[str, tuple[str, bool]],
                         unlimited_paths: Iterable[str]) -> None:
    """Rate-limit headers on the responses of rate-limited operations, Retry-After where it is
    sent, and the ETag of a 304 (RFC 9110 asks it to repeat the one a 200 would carry). Shared
    headers are defined once under `components.headers` and referenced."""
    unlimited = tuple(unlimited_paths)
    shared = {
        name: _header(description, OpenAPIType.INTEGER if integer else OpenAPIType.STRING)
        for name, (description, integer) in rate_limit_headers.items()
    }
    shared["Retry-After"] = _header("Seconds to wait before retrying.", OpenAPIType.INTEGER)
    if document.components is not None:
        document.components.headers = {**(document.components.headers or {}), **shared}
    limits = {name: Reference(ref=f"#/components/headers/{name}") for name in rate_limit_headers}
    retry_after = Reference(ref="#/components/headers/Retry-After")
    for path, operation in operations(document):
        responses = operation.responses or {}
        for status, response in responses.items():
            if not isinstance(response, OpenAPIResponse):
                continue
            headers: dict[str, Any] = dict(response.headers or {})
            for header in headers.values():
                # Headers declared on handlers (documentation only) carry no schema of their own.
                if isinstance(header, OpenAPIHeader) and header.schema is None and header.content is None:
                    header.schema = Schema(type=OpenAPIType.STRING)
            # Every answer carries them; they are declared where clients read them: on
            # successes and on the 429 they announce.
            if (status.startswith("2") or status == "429") and not any(path.startswith(p) for p in unlimited):
                headers.update(limits)
            if status in ("429", "503"):
                headers["Retry-After"] = retry_after
            if status == "304":
                ok = responses.get("200")
                if isinstance(ok, OpenAPIResponse) and ok.headers and "ETag" in ok.headers:
                    headers["ETag"] = ok.headers["ETag"]
            response.headers = headers or None


def share_problem_examples(document: OpenAPI) -> None:
    """Problem examples (one per problem type and status) are defined once, under
    `components.examples`, and referenced from each response that can carry them."""
    shared: dict[str, Any] = {}
    for _, operation in operations(document):
        for response in (operation.responses or {}).values():
            media = response.content.get(PROBLEM_MEDIA_TYPE) if isinstance(response, OpenAPIResponse) and response.content else None
            if media is None or not media.examples:
                continue
            refs: dict[str, Any] = {}
            for key, example in media.examples.items():
                if isinstance(example, Example) and example.id:
                    shared[example.id] = dataclasses.replace(example, id=None)  # `id` is not an OpenAPI field
                    refs[example.id] = Reference(ref=f"#/components/examples/{example.id}")
                else:
                    refs[key] = example
            media.examples = refs
    if shared and document.components is not None:
        document.components.examples = {**(document.components.examples or {}), **dict(sorted(shared.items()))}


def declare_security(document: OpenAPI, handlers: Iterable[HTTPRouteHandler], reads_require_key: bool) -> None:
    """Operations without their own requirement need no key (`security: []`), or any key when the
    deployment makes reads private; operations marked public never need one."""
    public_ids = {h.operation_id for h in handlers if h.opt.get("public") is True and isinstance(h.operation_id, str)}
    any_key: list[SecurityRequirement] = [{"apiKey": []}]
    for _, operation in operations(document):
        if operation.security:
            continue
        operation.security = any_key if reads_require_key and operation.operation_id not in public_ids else []


# Completed documents, per the settings that shape them. The document depends only on the code and
# these settings, and building it costs more than the rest of the app, so each process builds it
# once per shape (the test suite builds hundreds of apps).
_DOCUMENTS: dict[tuple[object, ...], OpenAPI] = {}


def complete_document(app: Litestar, *, rate_limit_headers: dict[str, tuple[str, bool]], unlimited_paths: Iterable[str],
                      reads_require_key: bool) -> None:
    """Everything above, on the app's document, before it is first served."""
    unlimited = tuple(unlimited_paths)
    shape = (reads_require_key, tuple(rate_limit_headers.items()), unlimited)
    built = _DOCUMENTS.get(shape)
    if built is not None:
        # Litestar offers no public setter; its plugin serves whatever `_openapi` holds.
        app.plugins.get(OpenAPIPlugin)._openapi = built
        return
    handlers = schema_handlers(app)
    document = app.openapi_schema
    use_msgspec_schemas(document, handlers)
    simplify_parameters(document)
    add_record_links(document)
    add_export_media_types(document)
    add_response_headers(document, rate_limit_headers, unlimited)
    share_problem_examples(document)
    declare_security(document, handlers, reads_require_key)
    _DOCUMENTS[shape] = document
