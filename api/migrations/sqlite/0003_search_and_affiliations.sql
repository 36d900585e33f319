-- Issue 13: full-text search over event records (`?q=`), round status and actor affiliations.

-- FTS5 over what people search: an event's summary, quote and notes. Its rowid comes from
-- record_search_keys, whose INTEGER PRIMARY KEY is stable (records' own rowid may change on
-- VACUUM), so a correction or retraction finds its index entry without a scan.
CREATE TABLE record_search_keys (
    search_id   INTEGER PRIMARY KEY,
    collection  TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    UNIQUE (collection, record_id)
);
CREATE VIRTUAL TABLE record_search USING fts5(
    summary, quote, notes, tokenize = 'porter unicode61 remove_diacritics 2'
);
-- The searched text of each event, defined once. json_extract would cut a text short at an
-- escaped NUL (\u0000), so each is read as a space first; escaped backslashes are set aside
-- (as char(1), which a stored body never holds raw) so that "\\u0000" stays the literal text.
CREATE VIEW record_search_text AS
    SELECT search_id, collection, id, json_extract(body, '$.summary') AS summary,
           json_extract(body, '$.quote') AS quote, json_extract(body, '$.notes') AS notes
    FROM (SELECT k.search_id, r.collection, r.id,
                 replace(replace(replace(r.body, '\\', char(1)), '\u0000', ' '), char(1), '\\') AS body
          FROM records r JOIN record_search_keys k ON k.collection = r.collection AND k.record_id = r.id
          WHERE r.is_event = 1);

-- Triggers keep the index in step with `records` in the writing statement's own transaction,
-- whichever write it is: create, correction, retraction or restore.
CREATE TRIGGER records_search_insert AFTER INSERT ON records WHEN new.is_event = 1
BEGIN
    INSERT OR IGNORE INTO record_search_keys (collection, record_id) VALUES (new.collection, new.id);
    INSERT INTO record_search (rowid, summary, quote, notes)
        SELECT search_id, summary, quote, notes FROM record_search_text
        WHERE collection = new.collection AND id = new.id;
END;
CREATE TRIGGER records_search_update AFTER UPDATE OF body ON records WHEN new.is_event = 1
BEGIN
    UPDATE record_search SET (summary, quote, notes) =
        (SELECT summary, quote, notes FROM record_search_text WHERE collection = new.collection AND id = new.id)
    WHERE rowid = (SELECT search_id FROM record_search_keys WHERE collection = new.collection AND record_id = new.id);
END;
CREATE TRIGGER records_search_delete AFTER DELETE ON records WHEN old.is_event = 1
BEGIN
    DELETE FROM record_search WHERE rowid =
        (SELECT search_id FROM record_search_keys WHERE collection = old.collection AND record_id = old.id);
END;

-- Index what is already stored.
INSERT INTO record_search_keys (collection, record_id) SELECT collection, id FROM records WHERE is_event = 1;
INSERT INTO record_search (rowid, summary, quote, notes) SELECT search_id, summary, quote, notes FROM record_search_text;

-- Rounds stored before they had a status were all taken as held: their status column says so,
-- as their bodies do when decoded (the field's default). Index data only; no record changes.
UPDATE records SET status = 'held' WHERE collection = 'round' AND status IS NULL;

-- An actor's affiliation becomes an edge the `actor` filter follows (peskov -> russia).
INSERT OR IGNORE INTO record_actors (collection, record_id, actor_id)
    SELECT collection, id, json_extract(body, '$.affiliation') FROM records
    WHERE collection = 'actor' AND json_extract(body, '$.affiliation') IS NOT NULL;
