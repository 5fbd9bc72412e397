"""Fixtures for the follow layer: a fake clock so schedules never sleep for real."""

from __future__ import annotations

import pytest
from follow_fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
