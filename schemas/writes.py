"""Inputs and outputs of the write API: corrections, history and the change feed."""

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from schemas import records as r
from schemas.vocab import RevisionOperation

# No NUL characters: PostgreSQL text cannot hold them, and the reason is stored as a column.
NO_NUL = r"^[^\x00]*$"
Reason = Annotated[str, Meta(min_length=3, max_length=1000, pattern=NO_NUL,
                             description="Why the record is being changed.")]


def patch_type(create_type: type[Struct], name: str) -> type[Struct]:
    """A merge-patch of `create_type`: every field optional (absent = unchanged), plus a reason.

    Built from the create type's own fields so the two can never disagree; a slug `id` is
    left out because ids never change.
    """
    fields: list[tuple[str, Any, Any]] = [("reason", Reason, msgspec.NODEFAULT)]
    for field in msgspec.structs.fields(create_type):
        if field.name != "id":
            fields.append((field.name, field.type | UnsetType, UNSET))
    return msgspec.defstruct(
        name, fields, kw_only=True, forbid_unknown_fields=True, omit_defaults=True, module=__name__
    )


ActorPatch = patch_type(r.ActorCreate, "ActorPatch")
SourcePatch = patch_type(r.SourceCreate, "SourcePatch")
FrontPatch = patch_type(r.FrontCreate, "FrontPatch")
TrackPatch = patch_type(r.TrackCreate, "TrackPatch")
RoundPatch = patch_type(r.RoundCreate, "RoundPatch")
ExchangePatch = patch_type(r.ExchangeCreate, "ExchangePatch")
StatementPatch = patch_type(r.StatementCreate, "StatementPatch")
FrontReportPatch = patch_type(r.FrontReportCreate, "FrontReportPatch")


class Retraction(Struct, forbid_unknown_fields=True):
    reason: Reason


class Revision(Struct):
    """One entry of a record's history."""

    revision: Annotated[int, Meta(ge=1)]
    operation: RevisionOperation
    reason: str | None
    recorded_at: dt.datetime
    record: Annotated[dict[str, Any], Meta(description="The record as it stood at this revision (for a "
                                                       "delete: as it was when retracted).")]


class RevisionPage(Struct):
    items: list[Revision]
    next: str | None


class Change(Struct):
    """One revision in the change feed, in commit order."""

    seq: Annotated[int, Meta(ge=1, description="Commit order; strictly increasing, no gaps are skipped.")]
    collection: Annotated[str, Meta(examples=["rounds"])]
    id: str
    revision: Annotated[int, Meta(ge=1)]
    operation: RevisionOperation
    reason: str | None
    recorded_at: dt.datetime
    record: Annotated[
        dict[str, Any] | None,
        Meta(description="The record after this revision; null for a delete, which removes it."),
    ]


class ChangePage(Struct):
    items: list[Change]
    next: Annotated[
        str,
        Meta(description="Always set: the feed after the last item served. An empty page means the client "
                         "is caught up; poll this link later for new changes."),
    ]
