"""The hints a learner asks for with ``hint("name")``: a ladder from how to start to the answer.

Each exercise's module gives its ladder where it defines its check (``@exercise(name,
reference, hints=[...], reveal=...)``): ``hints`` run from how to start to narrower
ones, none of them a line of the solution; ``reveal`` is one line of it. What the
learner gets:

- ``hint(name)``, before any attempt: the first hint, how to start;
- asked again: the next hint, narrower; the last one says that the next step is
  ``hint(name, reveal=True)``;
- after a failed check, the first answer is the hint for that very mistake (the
  ``more`` of the failure), if the check has one; then the exercise's hints not
  shown yet;
- ``hint(name, reveal=True)``: a line of the solution, the one that fixes the
  last mistake if the check named one (the failure's ``reveal``), else the
  exercise's.

The state (what was shown, the last failure) lives here, per exercise, for the
kernel's lifetime; ``forget_attempts()`` starts afresh.
"""

__all__ = ["Ladder", "register", "hint", "record_failure", "record_pass", "forget_attempts"]


class Ladder:
    """An exercise's hints (how to start, then narrower) and its reveal (a line of the solution)."""

    def __init__(self, name, hints, reveal):
        hints = tuple(hints)
        if not hints or not reveal:
            raise ValueError(f"exercise {name!r} needs at least one hint and a reveal (a line of the "
                             f"solution); got hints={hints!r}, reveal={reveal!r}")
        leaks = [h for h in hints if reveal in h]
        if leaks:
            raise ValueError(f"a hint of {name!r} holds its reveal ({reveal!r}): {leaks[0]!r}")
        self.name, self.hints, self.reveal = name, hints, reveal


_ladders = {}         # name -> Ladder
_last_failure = {}    # name -> the CheckFailed of the last failed check
_passed = set()       # names whose last check passed
_shown = {}           # name -> the hints shown so far, in order


def register(ladder):
    """Make ``ladder`` the one ``hint(ladder.name)`` climbs."""
    _ladders[ladder.name] = ladder


def ladder(name):
    """The Ladder of exercise ``name``, or None."""
    return _ladders.get(name)


def record_failure(name, failure):
    _last_failure[name] = failure
    _passed.discard(name)


def record_pass(name):
    _last_failure.pop(name, None)
    _shown.pop(name, None)
    _passed.add(name)


def forget_attempts():
    """Forget every check's last result and the hints shown, as a fresh kernel would."""
    _last_failure.clear()
    _passed.clear()
    _shown.clear()


def _rungs(name):
    failure = _last_failure.get(name)
    mistake = [failure.more] if failure is not None and getattr(failure, "more", None) else []
    return mistake + list(_ladders[name].hints)


def hint(name, reveal=False):
    """Print the next hint for exercise ``name`` (e.g. "softmax"); with ``reveal=True``, a line of
    the solution."""
    ladder_ = _ladders.get(name)
    if ladder_ is None:
        print(f'No exercise is called "{name}". The exercises: {", ".join(sorted(_ladders))}.')
        return
    failure = _last_failure.get(name)
    if reveal:
        line = getattr(failure, "reveal", None) or ladder_.reveal
        print(f"A line of the solution of {name}: {line}")
        return
    if name in _passed:
        print(f"Your {name} passed its check: nothing to fix. To compare it with a worked solution: "
              f'hint("{name}", reveal=True).')
        return
    shown = _shown.setdefault(name, [])
    fresh = [r for r in _rungs(name) if r not in shown]
    if not fresh:
        print(f'No more hints for {name}. hint("{name}", reveal=True) shows a line of the solution.')
        return
    shown.append(fresh[0])
    print(f"Hint {len(shown)} for {name}: {fresh[0]}")
    if len(fresh) == 1:
        print(f'  That was the last hint. hint("{name}", reveal=True) shows a line of the solution.')
    else:
        print(f'  Still stuck? hint("{name}") again narrows it down.')
