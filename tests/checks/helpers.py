"""What the tests of the checks share: a wrong answer must fail and say why, a right one must pass.

The tests of each notebook's checks (``test_nbNN_*.py``, named after the modules of
``mnistlib/checks/``) import these by name; pytest puts this folder on the path.
"""

import contextlib
import io
import re

import pytest

from mnistlib.checks import CheckFailed
from mnistlib.checks.hints import ladder


def fails(check, fn, *phrases):
    """``check(fn, strict=True)`` must raise CheckFailed whose message holds every phrase, and
    neither the message nor the next hint (``more``) may hold a line of the solution: the
    failure's ``reveal`` or the exercise's.

    Returns the CheckFailed: ``str()`` of it is the message shown at once, ``.more`` the
    hint that ``hint(name)`` gives for this mistake, ``.reveal`` the line that
    ``hint(name, reveal=True)`` shows.
    """
    with pytest.raises(CheckFailed) as info:
        check(fn, strict=True)
    failure = info.value
    for phrase in phrases:
        assert phrase in str(failure), f"{phrase!r} not in message:\n{failure}"
    for line in (failure.reveal, ladder(check.exercise).reveal):
        if line:
            assert line not in str(failure) and line not in (failure.more or ""), \
                f"a line of the solution ({line!r}) is shown before it is asked for:\n{failure}\n{failure.more}"
    return failure


def passes(check, fn):
    """``check(fn, strict=True)`` must return fn and print one line, "✓ name: all N checks passed"."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert check(fn, strict=True) is fn
    assert re.fullmatch(rf"✓ {check.exercise}: all \d+ checks passed\n", out.getvalue()), out.getvalue()


def hints_for(check, fn):
    """(the message shown at once, the hint for this mistake, the line of code it reveals) for a wrong fn."""
    failure = fails(check, fn)
    return str(failure), failure.more, failure.reveal
