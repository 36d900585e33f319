"""What the generated OpenAPI document needs beyond what Litestar derives from handlers.

Litestar cannot declare links or extra response media types on a handler, so both are added
to the generated document once, when the app is built:
- links from each record to its correction and retraction, carrying the ETag, so clients (and
  schemathesis' stateful tests) learn that a correction takes `If-Match` from `ETag`;
- the CSV, NDJSON and Parquet forms of every list operation's 200 response.
"""

from litestar.openapi.spec import Link, OpenAPI, OpenAPIMediaType, Schema
from litestar.openapi.spec.enums import OpenAPIType

from api.collections import ALL
from api.exports import MEDIA_TYPES, ExportFormat


def operation_name(record_kind: str) -> str:
    return "".join(part.title() for part in record_kind.split("_"))


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
        collection_item, record_item = paths.get(f"/v1/{collection.name}"), paths.get(item_path)
        responses = [
            collection_item.post.responses.get("201") if collection_item and collection_item.post else None,
            record_item.get.responses.get("200") if record_item and record_item.get else None,
            record_item.patch.responses.get("200") if record_item and record_item.patch else None,
        ]
        for response in responses:
            if response is not None and not isinstance(response, dict) and hasattr(response, "links"):
                response.links = {**(response.links or {}), **links}


def add_export_media_types(document: OpenAPI) -> None:
    """Every operation that takes `format=` answers 200 in each export format too."""
    alternatives = {
        MEDIA_TYPES[ExportFormat.CSV]: Schema(type=OpenAPIType.STRING, description="A header row, then one row per record."),
        MEDIA_TYPES[ExportFormat.NDJSON]: Schema(type=OpenAPIType.STRING, description="One JSON item per line."),
        MEDIA_TYPES[ExportFormat.PARQUET]: Schema(type=OpenAPIType.STRING, format="binary",
                                                 description="An Apache Parquet file."),
    }
    for item in (document.paths or {}).values():
        operation = item.get
        if operation is None or not any(getattr(p, "name", None) == "format" for p in operation.parameters or []):
            continue
        ok = (operation.responses or {}).get("200")
        if ok is None or isinstance(ok, dict) or ok.content is None:
            continue
        for media_type, schema in alternatives.items():
            ok.content[media_type.split(";")[0]] = OpenAPIMediaType(schema=schema)
