"""Load seed record sets into the store through the one revision path, idempotently."""


import msgspec

from api.collections import ALL, Collection
from api.db import Connection
from api.settings import get_settings
from api.store import LoadSummary, load_records
from seeds.brief import brief_records
from seeds.history import DEFAULT_DATA_DIR, load_history
from seeds.recordset import RecordSet, merged

SEED_REASON = "seed"


def batches(record_set: RecordSet) -> list[tuple[Collection, list[msgspec.Struct]]]:
    """The record set's lists paired with their collections, in dependency order."""
    by_field = {collection.name.replace("-", "_"): collection for collection in ALL}
    return [(by_field[f.name], list(getattr(record_set, f.name))) for f in msgspec.structs.fields(record_set)]


def seed_record_sets() -> list[RecordSet]:
    """Everything `parley seed` loads, as one set: the history, then the brief."""
    history = load_history(DEFAULT_DATA_DIR, *get_settings().extra_history_dirs)
    return [merged(RecordSet(**msgspec.structs.asdict(history)), brief_records())]


async def seed(conn: Connection) -> LoadSummary:
    """Bring the store up to date with the seed: create what is missing and correct, as new
    revisions, the records an earlier seed wrote that the seed data has changed since. Records
    changed or retracted by anyone else are left alone; running it twice changes nothing."""
    (record_set,) = seed_record_sets()
    return await load_records(conn, batches(record_set), reason=SEED_REASON)
