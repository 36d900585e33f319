"""Write service: create, correct, retract and restore records, with the guarantees of the API.

- Every change goes through `RevisionWriter` inside one write transaction (`api.db`), so the
  record, its revision and (for POST) its idempotency entry commit together or not at all. A
  transaction that meets a transient conflict (PostgreSQL serialization failure or deadlock) is
  run again a bounded number of times, then answered 503 with Retry-After.
- Corrections need `If-Match`; the check and the write share the transaction, so of many
  concurrent corrections of one version exactly one wins.
- References to other records are checked, and a broken one is a 422 naming the field.
"""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from api.collections import BY_NAME, Collection
from api.conditional import etag, if_match_holds
from api.db import Connection, Store, retrying, write_transaction
from api.idempotency import IdempotencyLedger, WriteResult, complete
from api.problems import (
    ALREADY_EXISTS,
    IF_MATCH_REQUIRED,
    NOT_RETRACTED,
    RETRACTED_ID,
    STALE_IF_MATCH,
    UNKNOWN_REFERENCE,
    field_problem,
    from_record_error,
    problem,
)
from api.reads import representation
from api.store import RecordRepository, RevisionWriter, Written

T = TypeVar("T")
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class CurrentRecord:
    stored: bytes
    revision: int


class WriteService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.idempotency = IdempotencyLedger(store)

    async def create(
        self, collection: Collection, record: msgspec.Struct, key_id: str, idempotency_key: str | None
    ) -> WriteResult:
        if idempotency_key is None:
            return await self._transaction(lambda conn: self._create(conn, collection, record, key_id))
        fingerprint = hashlib.sha256(collection.name.encode() + b"\n" + _encode(record)).hexdigest()
        outcome = await self.idempotency.begin(key_id, idempotency_key, fingerprint)
        if isinstance(outcome, WriteResult):
            return outcome  # the first request's answer, replayed

        async def work(conn: Connection) -> WriteResult:
            result = await self._create(conn, collection, record, key_id)
            await complete(conn, outcome, result)
            return result

        try:
            return await self._transaction(work)
        except BaseException:
            await self.idempotency.release(outcome)
            raise

    async def correct(
        self, collection: Collection, record_id: str, patch: msgspec.Struct, if_match: str | None, key_id: str
    ) -> WriteResult:
        if if_match is None:
            raise problem(428, "Corrections need If-Match with the record's current ETag.", IF_MATCH_REQUIRED)
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
        reason = changes.pop("reason")

        async def work(conn: Connection) -> WriteResult:
            records = RecordRepository(conn)
            current = await self._current(records, collection, record_id, if_match)
            document = collection.writable(_decode(current.stored))
            document.update(msgspec.to_builtins(changes))
            record = await self._validate(records, collection, document)
            await self._check_unique(conn, collection, record, record_id)
            written = await RevisionWriter(conn).correct(collection, record_id, record, current.revision + 1,
                                                         reason=reason, key_id=key_id)
            return await self._result(records, 200, collection, written)

        return await self._transaction(work)

    async def retract(
        self, collection: Collection, record_id: str, reason: str, if_match: str | None, key_id: str
    ) -> None:
        async def work(conn: Connection) -> None:
            await self._current(RecordRepository(conn), collection, record_id, if_match)
            await RevisionWriter(conn).retract(collection, record_id, reason=reason, key_id=key_id)

        await self._transaction(work)

    async def restore(self, collection: Collection, record_id: str, reason: str, key_id: str) -> WriteResult:
        async def work(conn: Connection) -> WriteResult:
            records = RecordRepository(conn)
            history = await records.revisions(collection, record_id)
            if not history:
                raise problem(404, f"No {collection.record_kind} with id {record_id!r} has ever existed.")
            last = history[-1]
            if last.operation != "delete":
                raise problem(409, f"The {collection.record_kind} {record_id!r} is not retracted.", NOT_RETRACTED)
            record = await self._validate(records, collection, collection.writable(_decode(last.body)))
            await self._check_unique(conn, collection, record, record_id)
            written = await RevisionWriter(conn).restore(collection, record_id, record, last.revision + 1,
                                                         reason=reason, key_id=key_id)
            return await self._result(records, 200, collection, written)

        return await self._transaction(work)

    # --- helpers -----------------------------------------------------------------------------

    async def _transaction(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """`work` in one write transaction on a borrowed connection, retried on transient
        conflicts; when they persist, `StoreBusy` reaches the client as a 503."""

        async def attempt() -> T:
            async with self.store.connection() as conn, write_transaction(conn):
                return await work(conn)

        return await retrying(attempt)

    async def _create(self, conn: Connection, collection: Collection, record: msgspec.Struct, key_id: str) -> WriteResult:
        records, writer = RecordRepository(conn), RevisionWriter(conn)
        existing = await writer.find_by_natural_key(collection, record)
        if existing is not None:
            raise problem(409, f"A {collection.record_kind} with this {'external_id' if collection.is_event else 'id'} "
                               f"already exists: {existing!r}.", ALREADY_EXISTS)
        if not collection.is_event and await records.revisions(collection, getattr(record, "id")):
            raise problem(409, f"The id {getattr(record, 'id')!r} belongs to a retracted {collection.record_kind}; "
                               "restore it instead.", RETRACTED_ID)
        await self._check_references(records, collection, record)
        return await self._result(records, 201, collection, await writer.create(collection, record, key_id=key_id))

    async def _current(
        self, records: RecordRepository, collection: Collection, record_id: str, if_match: str | None
    ) -> CurrentRecord:
        stored = await records.get(collection, record_id)
        if stored is None:
            raise problem(404, f"No {collection.record_kind} with id {record_id!r}.")
        if if_match is not None and not if_match_holds(
            if_match, etag(await representation(records, collection, record_id))
        ):
            raise problem(412, "The record has changed since that ETag: fetch it again and reapply the change.",
                          STALE_IF_MATCH)
        return CurrentRecord(stored, int(_decode(stored)["revision"]))

    async def _validate(self, records: RecordRepository, collection: Collection, document: dict[str, Any]) -> msgspec.Struct:
        try:
            record = msgspec.convert(document, collection.create_type)
        except msgspec.ValidationError as error:
            raise from_record_error(error) from error
        await self._check_references(records, collection, record)
        return record

    async def _check_unique(self, conn: Connection, collection: Collection, record: msgspec.Struct,
                            record_id: str) -> None:
        """A correction or restore may not take an `external_id` another record holds."""
        existing = await RevisionWriter(conn).find_by_natural_key(collection, record)
        if existing is not None and existing != record_id:
            raise problem(409, f"Another {collection.record_kind} has this external_id: {existing!r}.", ALREADY_EXISTS)

    async def _check_references(self, records: RecordRepository, collection: Collection, record: msgspec.Struct) -> None:
        for field, target, target_id in collection.references(record):
            if not await records.exists(BY_NAME[target], target_id):
                raise field_problem(UNKNOWN_REFERENCE, f"`{field}` names {target} {target_id!r}, which does not exist.",
                                    field)

    async def _result(
        self, records: RecordRepository, status_code: int, collection: Collection, written: Written
    ) -> WriteResult:
        body = await representation(records, collection, written.id)
        return WriteResult(status_code, body, etag(body), f"/v1/{collection.name}/{written.id}")
