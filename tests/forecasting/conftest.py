"""Fixtures for the forecasting tests (the builders live in `forecasting.synthetic`)."""

import pytest

from forecasting.synthetic import Records, small_history


@pytest.fixture
def history() -> Records:
    """A fresh small history per test: tests append records to it."""
    return small_history()
