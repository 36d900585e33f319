-- PostgreSQL twin of sqlite/0003_search_and_affiliations.sql.

-- Full-text search over an event's summary, quote and notes: one immutable function that both
-- the GIN index and the `?q=` filter (api/store.py) call, so the two can never disagree. The
-- index is maintained by every INSERT, UPDATE and DELETE of `records`, in its transaction.
-- PostgreSQL text cannot hold NUL, which a stored body may carry escaped (\u0000), and json and
-- jsonb refuse to hand out text from a document holding one: each such escape (not an escaped
-- backslash followed by "u0000") is read as a space. The function calls only pg_catalog, so
-- pg_restore (which runs with an empty search_path) can rebuild the index.
CREATE FUNCTION record_search_vector(body TEXT) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('english'::regconfig,
                       coalesce(j ->> 'summary', '') || ' ' || coalesce(j ->> 'quote', '') || ' '
                       || coalesce(j ->> 'notes', ''))
    FROM (SELECT regexp_replace(body, '(?<!\\)((?:\\\\)*)\\u0000', '\1 ', 'g')::json AS j) AS parsed
$$;
CREATE INDEX records_search ON records USING GIN (record_search_vector(body));

-- Rounds stored before they had a status were all taken as held (see the SQLite twin).
UPDATE records SET status = 'held' WHERE collection = 'round' AND status IS NULL;

-- An actor's affiliation becomes an edge the `actor` filter follows (peskov -> russia). Escaped
-- NULs are read as above.
INSERT INTO record_actors (collection, record_id, actor_id)
    SELECT collection, id, affiliation FROM (
        SELECT collection, id, regexp_replace(body, '(?<!\\)((?:\\\\)*)\\u0000', '\1 ', 'g')::json ->> 'affiliation'
            AS affiliation
        FROM records WHERE collection = 'actor'
    ) AS actors
    WHERE affiliation IS NOT NULL
ON CONFLICT DO NOTHING;
