-- PostgreSQL twin of sqlite/0004_forecast_log.sql: the append-only forecast log.
CREATE TABLE forecast_log (
    track        TEXT COLLATE "C" NOT NULL,
    as_of        TEXT COLLATE "C" NOT NULL,
    model_id     TEXT COLLATE "C" NOT NULL,
    horizon      INTEGER NOT NULL,
    probability  DOUBLE PRECISION NOT NULL,
    window_start TEXT COLLATE "C" NOT NULL,
    window_end   TEXT COLLATE "C" NOT NULL,
    served_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (track, as_of, model_id, horizon)
);
CREATE INDEX forecast_log_window ON forecast_log (window_end);

CREATE FUNCTION forecast_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the forecast log is append-only';
END;
$$;
CREATE TRIGGER forecast_log_no_update BEFORE UPDATE ON forecast_log
    FOR EACH ROW EXECUTE FUNCTION forecast_log_append_only();
CREATE TRIGGER forecast_log_no_delete BEFORE DELETE ON forecast_log
    FOR EACH ROW EXECUTE FUNCTION forecast_log_append_only();
CREATE TRIGGER forecast_log_no_truncate BEFORE TRUNCATE ON forecast_log
    FOR EACH STATEMENT EXECUTE FUNCTION forecast_log_append_only();
