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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from api.collections import BY_NAME, Collection
from api.conditional import etag, if_match_holds
from api.db import (
    RETRY_AFTER_SECONDS,
    Connection,
    StoreBusy,
    retrying,
    write_transaction,
)
from api.idempotency import IdempotencyLedger, StoredResponse
from api.problems import VALIDATION_TYPE, problem
from api.reads import ReadService
from api.store import RecordRepository, RevisionWriter, Written

SERVER_FIELDS = ("id", "revision", "recorded_at", "status", "last_round_on")

T = TypeVar("T")
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class CurrentRecord:
    stored: bytes
    revision: int


@dataclass(frozen=True, slots=True)
class WriteResult:
    status_code: int
    body: bytes
    etag: str
    location: str


class WriteService:
    def __init__(self, conn: Connection, reads: ReadService) -> None:
        self.conn = conn
        self.reads = reads
        self.records = RecordRepository(conn)
        self.writer = RevisionWriter(conn)
        self.idempotency = IdempotencyLedger(conn)

    def create(
        self, collection: Collection, record: msgspec.Struct, key_id: str, idempotency_key: str | None
    ) -> WriteResult:
        if idempotency_key is None:
            return self._transaction(lambda: self._create(collection, record, key_id))
        fingerprint = hashlib.sha256(collection.name.encode() + b"\n" + _encode(record)).hexdigest()
        outcome = self.idempotency.begin(key_id, idempotency_key, fingerprint)
        if isinstance(outcome, StoredResponse):
            return WriteResult(outcome.status_code, outcome.body, outcome.etag, outcome.location)

        def work() -> WriteResult:
            result = self._create(collection, record, key_id)
            self.idempotency.complete(outcome, StoredResponse(result.status_code, result.body, result.etag,
                                                              result.location))
            return result

        try:
            return self._transaction(work)
        except BaseException:
            self.idempotency.release(outcome)
            raise

    def correct(
        self, collection: Collection, record_id: str, patch: msgspec.Struct, if_match: str | None, key_id: str
    ) -> WriteResult:
        if if_match is None:
            raise problem(428, "Corrections need If-Match with the record's current ETag.")
        changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
        reason = changes.pop("reason")

        def work() -> WriteResult:
            current = self._current(collection, record_id, if_match)
            document = {k: v for k, v in _decode(current.stored).items() if k not in SERVER_FIELDS}
            document.update(msgspec.to_builtins(changes))
            if collection.id_prefix is None:
                document["id"] = record_id
            record = self._validate(collection, document)
            written = self.writer.correct(collection, record_id, record, current.revision + 1, reason=reason,
                                          key_id=key_id)
            return self._result(200, collection, written)

        return self._transaction(work)

    def retract(self, collection: Collection, record_id: str, reason: str, if_match: str | None, key_id: str) -> None:
        def work() -> None:
            self._current(collection, record_id, if_match)
            self.writer.retract(collection, record_id, reason=reason, key_id=key_id)

        self._transaction(work)

    def restore(self, collection: Collection, record_id: str, reason: str, key_id: str) -> WriteResult:
        def work() -> WriteResult:
            history = self.records.revisions(collection, record_id)
            if not history:
                raise problem(404, f"No {collection.record_kind} with id {record_id!r} has ever existed.")
            last = history[-1]
            if last.operation != "delete":
                raise problem(409, f"The {collection.record_kind} {record_id!r} is not retracted.")
            document = {k: v for k, v in _decode(last.body).items() if k not in SERVER_FIELDS}
            record = self._validate(collection, document)
            written = self.writer.restore(collection, record_id, record, last.revision + 1, reason=reason,
                                          key_id=key_id)
            return self._result(200, collection, written)

        return self._transaction(work)

    # --- helpers -----------------------------------------------------------------------------

    def _transaction(self, work: Callable[[], T]) -> T:
        """`work` in one write transaction, retried on transient conflicts; 503 when they persist."""

        def attempt() -> T:
            with write_transaction(self.conn):
                return work()

        try:
            return retrying(attempt)
        except StoreBusy as busy:
            error = problem(503, "The store is busy with conflicting writes; retry shortly.")
            error.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            raise error from busy

    def _create(self, collection: Collection, record: msgspec.Struct, key_id: str) -> WriteResult:
        existing = self.writer.find_by_natural_key(collection, record)
        if existing is not None:
            raise problem(409, f"A {collection.record_kind} with this {'external_id' if collection.is_event else 'id'} "
                               f"already exists: {existing!r}.")
        if not collection.is_event and self.records.revisions(collection, getattr(record, "id")):
            raise problem(409, f"The id {getattr(record, 'id')!r} belongs to a retracted {collection.record_kind}; "
                               "restore it instead.")
        self._check_references(collection, record)
        return self._result(201, collection, self.writer.create(collection, record, key_id=key_id))

    def _current(self, collection: Collection, record_id: str, if_match: str | None) -> CurrentRecord:
        stored = self.records.get(collection, record_id)
        if stored is None:
            raise problem(404, f"No {collection.record_kind} with id {record_id!r}.")
        if if_match is not None and not if_match_holds(if_match, etag(self.reads.one(collection, record_id))):
            raise problem(412, "The record has changed since that ETag: fetch it again and reapply the change.")
        return CurrentRecord(stored, int(_decode(stored)["revision"]))

    def _validate(self, collection: Collection, document: dict[str, Any]) -> msgspec.Struct:
        try:
            record = msgspec.convert(document, collection.create_type)
        except msgspec.ValidationError as error:
            raise invalid_body(str(error), field_from_message(str(error))) from error
        self._check_references(collection, record)
        return record

    def _check_references(self, collection: Collection, record: msgspec.Struct) -> None:
        for field, target, target_id in collection.references(record):
            if not self.records.exists(BY_NAME[target], target_id):
                raise invalid_body(f"`{field}` names {target} {target_id!r}, which does not exist.", field)

    def _result(self, status_code: int, collection: Collection, written: Written) -> WriteResult:
        representation = self.reads.one(collection, written.id)
        return WriteResult(status_code, representation, etag(representation), f"/v1/{collection.name}/{written.id}")


def field_from_message(message: str) -> str:
    """msgspec names the path as `$.field[0]` at the end of its message; our own cross-field
    rules name the field first, in backticks."""
    marker = "at `$."
    if marker in message:
        return message.split(marker, 1)[1].rstrip("`")
    return message.split("`")[1] if message.count("`") >= 2 else ""


def invalid_body(detail: str, field: str) -> Exception:
    error = problem(422, detail)
    error.type_ = VALIDATION_TYPE
    error.extra = {"errors": [{"field": field, "source": "body", "message": detail}]}
    return error
