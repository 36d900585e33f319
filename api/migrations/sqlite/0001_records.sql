-- Every record of every collection lives in one table: the columns that filters and ordering
-- need, plus `body`, the record exactly as the API returns it. Reads serve `body` untouched.
CREATE TABLE records (
    collection   TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    is_event     INTEGER NOT NULL,
    sort_key     TEXT    NOT NULL,  -- event: ISO date ('' when unknown); reference: the id
    event_date   TEXT,
    reported_at  TEXT,              -- NULL for timeless reference records
    track_id     TEXT,
    front_id     TEXT,
    kind         TEXT,
    status       TEXT,
    outcome      TEXT,
    external_id  TEXT,
    revision     INTEGER NOT NULL,
    recorded_at  TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    PRIMARY KEY (collection, id)
);
CREATE INDEX records_page ON records (collection, sort_key, id);
CREATE INDEX records_timeline ON records (is_event, sort_key, id);
CREATE INDEX records_track ON records (track_id, collection);
CREATE UNIQUE INDEX records_external ON records (collection, external_id);

-- Actors a record involves (parties, mediators, delegation heads, speakers): the `actor` filter.
CREATE TABLE record_actors (
    collection TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    PRIMARY KEY (collection, record_id, actor_id)
);
CREATE INDEX record_actors_actor ON record_actors (actor_id);

-- The audit trail: one row per write, never changed afterwards.
CREATE TABLE revisions (
    seq          INTEGER PRIMARY KEY,
    collection   TEXT    NOT NULL,
    record_id    TEXT    NOT NULL,
    revision     INTEGER NOT NULL,
    operation    TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    reason       TEXT,
    key_id       TEXT,
    recorded_at  TEXT    NOT NULL,
    UNIQUE (collection, record_id, revision)
);

CREATE TRIGGER revisions_no_update BEFORE UPDATE ON revisions
BEGIN SELECT RAISE(ABORT, 'revisions are append-only'); END;
CREATE TRIGGER revisions_no_delete BEFORE DELETE ON revisions
BEGIN SELECT RAISE(ABORT, 'revisions are append-only'); END;
