"""What the forecaster refuses to do, as exceptions the API maps to problem details."""


class ForecastError(Exception):
    """Base class: a forecast, scenario or model card cannot be produced as asked."""


class UnknownTrackError(ForecastError, LookupError):
    """No track with this id."""


class NoAnchorError(ForecastError):
    """The track has no dated record reported by `as_of`, so there is no gap to measure."""


class NotEnoughDataError(ForecastError):
    """Too few resumptions known by `as_of` to fit the model."""


class SeparationError(ForecastError):
    """The fit separated (|β| > 8 or SE > 10 on the standardised scale); not served."""

    def __init__(self, message: str, terms: tuple[str, ...]) -> None:
        super().__init__(message)
        self.terms = terms


class InvalidHorizonError(ForecastError, ValueError):
    """A horizon outside 1..52 weeks."""
