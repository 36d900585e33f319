-- PostgreSQL twin of sqlite/0001_records.sql: the same tables, columns and indexes.
-- Text columns that order pages use the "C" collation, so PostgreSQL sorts exactly as SQLite's
-- binary comparison does and cursors mean the same on both.
CREATE TABLE records (
    collection   TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    is_event     INTEGER NOT NULL,
    sort_key     TEXT COLLATE "C" NOT NULL,  -- event: ISO date ('' when unknown); reference: the id
    event_date   TEXT COLLATE "C",
    reported_at  TEXT COLLATE "C",           -- NULL for timeless reference records
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

CREATE TABLE record_actors (
    collection TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    PRIMARY KEY (collection, record_id, actor_id)
);
CREATE INDEX record_actors_actor ON record_actors (actor_id);

-- The audit trail: one row per write, never changed afterwards. `seq` is assigned while the
-- writer holds the advisory write lock (api/db.py), so it is in commit order.
CREATE TABLE revisions (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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

CREATE FUNCTION revisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'revisions are append-only';
END;
$$;
CREATE TRIGGER revisions_no_update BEFORE UPDATE ON revisions
    FOR EACH ROW EXECUTE FUNCTION revisions_append_only();
CREATE TRIGGER revisions_no_delete BEFORE DELETE ON revisions
    FOR EACH ROW EXECUTE FUNCTION revisions_append_only();
CREATE TRIGGER revisions_no_truncate BEFORE TRUNCATE ON revisions
    FOR EACH STATEMENT EXECUTE FUNCTION revisions_append_only();
