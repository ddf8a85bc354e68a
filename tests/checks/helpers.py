"""What the tests of the checks share: a wrong answer must fail and say why, a right one must pass.

The tests of each notebook's checks (``test_nbNN_*.py``, named after the modules of
``mnistlib/checks/``) import these by name; pytest puts this folder on the path.
"""

import contextlib
import io
import re

import pytest

from mnistlib.checks import CheckFailed


def fails(check, fn, *phrases):
    """``check(fn, strict=True)`` must raise CheckFailed whose message holds every phrase.

    Returns the CheckFailed: ``str()`` of it is the message shown at once, ``.more`` the
    more specific hint that ``hint(name)`` gives.
    """
    with pytest.raises(CheckFailed) as info:
        check(fn, strict=True)
    for phrase in phrases:
        assert phrase in str(info.value), f"{phrase!r} not in message:\n{info.value}"
    return info.value


def passes(check, fn):
    """``check(fn, strict=True)`` must return fn and print one line, "✓ name: all N checks passed"."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert check(fn, strict=True) is fn
    assert re.fullmatch(rf"✓ {check.exercise}: all \d+ checks passed\n", out.getvalue()), out.getvalue()


def first_step_and_more(check, fn):
    """(the message shown at once, the more specific hint given by hint(name)) for a wrong fn."""
    failure = fails(check, fn)
    return str(failure), failure.more
