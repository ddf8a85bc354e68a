"""Every test of the checks starts as a fresh kernel would: no check run, no hint shown."""

import pytest

from mnistlib.checks.hints import forget_attempts


@pytest.fixture(autouse=True)
def fresh_hints():
    forget_attempts()
    yield
    forget_attempts()
