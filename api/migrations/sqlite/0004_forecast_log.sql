-- The forecast log: every distinct answer the forecast endpoint served, once, so that Parley's
-- track record can be scored against what happened (GET /v1/forecasts/track-record). Like
-- revisions, it is append-only: an entry is never changed or removed.
CREATE TABLE forecast_log (
    track        TEXT    NOT NULL,
    as_of        TEXT    NOT NULL,  -- ISO day
    model_id     TEXT    NOT NULL,
    horizon      INTEGER NOT NULL,
    probability  REAL    NOT NULL,
    window_start TEXT    NOT NULL,  -- ISO day: Monday of the first forecast week
    window_end   TEXT    NOT NULL,  -- ISO day: Sunday of the last forecast week
    served_at    TEXT    NOT NULL,  -- UTC timestamp of the first time it was served
    PRIMARY KEY (track, as_of, model_id, horizon)
);
CREATE INDEX forecast_log_window ON forecast_log (window_end);

CREATE TRIGGER forecast_log_no_update BEFORE UPDATE ON forecast_log
BEGIN SELECT RAISE(ABORT, 'the forecast log is append-only'); END;
CREATE TRIGGER forecast_log_no_delete BEFORE DELETE ON forecast_log
BEGIN SELECT RAISE(ABORT, 'the forecast log is append-only'); END;
