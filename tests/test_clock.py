"""One clock for the whole package: setting it moves every "now" and "today" the code reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dpa_tracker import clock as app_clock
from dpa_tracker.models.base import utcnow
from dpa_tracker.obligation.services import today


def test_setting_the_clock_moves_the_models_and_the_status_engine(clock):
    moment = clock.set(datetime(2031, 2, 3, 4, 5, tzinfo=UTC))
    assert utcnow() == moment
    assert today().isoformat() == "2031-02-03"


def test_the_clock_refuses_a_naive_time_and_is_restored_after_the_block():
    real = app_clock.now()
    with pytest.raises(ValueError, match="aware"), app_clock.fixed_at(datetime(2030, 1, 1)):
        pass
    with app_clock.fixed_at(datetime(2030, 1, 1, tzinfo=UTC)):
        assert app_clock.today().isoformat() == "2030-01-01"
    assert abs((app_clock.now() - real).total_seconds()) < 60
