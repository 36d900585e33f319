"""OpenAPI links from each record to its correction and retraction, carrying the ETag.

Clients (and schemathesis' stateful tests) learn from them that a correction takes the id from
the last response's body and `If-Match` from its `ETag` header. Litestar cannot declare links
on a handler, so they are added to the generated document once, when the app is built.
"""

from litestar.openapi.spec import OpenAPI
from litestar.openapi.spec import Link

from api.collections import ALL


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
