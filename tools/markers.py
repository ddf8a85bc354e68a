"""The exercise markers in the notebooks, read once for both copies made from them.

The notebooks in notebooks/ hold worked solutions. Two copies are made from the
same markers: the self-study copy (tools/student_version.py) and the graded
nbgrader course (tools/make_course.py). The markers are nbgrader's own:

    def softmax(l):                              <- an exercise: a function the learner completes
        \"\"\"...\"\"\"
        # BEGIN SOLUTION
        ...the worked answer...
        # END SOLUTION

    softmax = check_softmax(softmax)             <- the next code cell runs its check
    # points: 2                                  <- optional: its weight in the course (default 1)
    ### BEGIN HIDDEN TESTS
    ...asserts the learner never sees...          <- optional: only the course runs them
    ### END HIDDEN TESTS

Each marker stands alone on its line. ``find_exercises`` pairs every cell that
holds a solution with the check cell after it, and says plainly where the
markers don't fit together.
"""

import re
from dataclasses import dataclass

BEGIN = re.compile(r"^([ \t]*)# BEGIN SOLUTION[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
BEGIN_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*$")
END_HIDDEN = re.compile(r"^[ \t]*### END HIDDEN TESTS[ \t]*$")
# nbgrader looks for these words anywhere in a line: a line that merely mentions them would be
# taken for a marker, so find_exercises refuses it.
MARKER_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# What replaces a solution in both copies. The checks answer "not implemented yet" to it.
PLACEHOLDER = ("# YOUR CODE HERE", 'raise NotImplementedError("your turn")')
# `softmax = check_softmax(softmax)`, `check_softmax(softmax)` or `checks.check_softmax(softmax)`,
# alone on its line (a comment may follow).
CHECK_CALL = re.compile(r"^(?P<indent>[ \t]*)(?:(?P<target>\w+)[ \t]*=[ \t]*)?"
                        r"(?P<check>(?:\w+\.)?check_\w+)\((?P<arg>\w+)\)[ \t]*(?:#.*)?$")
POINTS = re.compile(r"^[ \t]*#[ \t]*points:[ \t]*(?P<points>\S+)[ \t]*$", re.IGNORECASE)
DEFAULT_POINTS = 1


class MarkerError(ValueError):
    """The markers in a notebook don't fit together. The message names the cell and the line."""


@dataclass(frozen=True)
class Exercise:
    """One exercise: the cell with the solution and the cell with its check (indices in nb.cells)."""
    name: str           # the function the learner completes, e.g. "softmax"
    check: str          # the check the next cell calls, e.g. "check_softmax"
    solution_cell: int
    check_cell: int
    check_line: int     # index of the check call's line in the check cell's source
    points: float
    hidden_tests: bool


# --- the text of one cell ---------------------------------------------------------

def strip_solutions(source, where="cell", placeholder=PLACEHOLDER):
    """``source`` with every solution block replaced by ``placeholder`` (lines, indented as the
    block's markers); returns (source, n_blocks)."""
    out, indent, n = [], None, 0
    for number, line in enumerate(source.split("\n"), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if indent is not None:
                raise MarkerError(f"{where}, line {number}: '# BEGIN SOLUTION' inside another solution block")
            indent = begin.group(1)
            out.extend(indent + text for text in placeholder)
            n += 1
        elif end:
            if indent is None:
                raise MarkerError(f"{where}, line {number}: '# END SOLUTION' without '# BEGIN SOLUTION'")
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise MarkerError(f"{where}: '# BEGIN SOLUTION' without '# END SOLUTION'")
    return "\n".join(out), n


def strip_hidden_tests(source, where="cell"):
    """``source`` without its hidden-test blocks (markers included)."""
    out, hidden = [], False
    for number, line in enumerate(source.split("\n"), start=1):
        if BEGIN_HIDDEN.match(line):
            if hidden:
                raise MarkerError(f"{where}, line {number}: '### BEGIN HIDDEN TESTS' inside another one")
            hidden = True
        elif END_HIDDEN.match(line):
            if not hidden:
                raise MarkerError(f"{where}, line {number}: '### END HIDDEN TESTS' without a BEGIN")
            hidden = False
        elif not hidden:
            out.append(line)
    if hidden:
        raise MarkerError(f"{where}: '### BEGIN HIDDEN TESTS' without '### END HIDDEN TESTS'")
    return "\n".join(out).rstrip("\n") if len(out) < len(source.split("\n")) else source


def _stray_marker(source, where):
    """Refuse a line that mentions a marker's words without being that marker."""
    exact = (BEGIN, END, BEGIN_HIDDEN, END_HIDDEN)
    for number, line in enumerate(source.split("\n"), start=1):
        if any(w in line for w in MARKER_WORDS) and not any(m.match(line) for m in exact):
            raise MarkerError(f"{where}, line {number}: {line.strip()!r} mentions a marker but is not one "
                              "(a marker stands alone on its line, e.g. '    # BEGIN SOLUTION'); nbgrader "
                              "would take it for one. Reword the line.")


def _points(source, where):
    found = [(n, m.group("points")) for n, line in enumerate(source.split("\n"), start=1)
             if (m := POINTS.match(line))]
    if not found:
        return DEFAULT_POINTS
    if len(found) > 1:
        raise MarkerError(f"{where}: {len(found)} '# points:' lines; give one.")
    number, text = found[0]
    try:
        points = float(text)
    except ValueError:
        points = float("nan")
    if not points > 0 or points != points or points == float("inf"):
        raise MarkerError(f"{where}, line {number}: '# points: {text}' must be a positive number, "
                          "e.g. '# points: 2'.")
    return int(points) if points.is_integer() else points


# --- a whole notebook ---------------------------------------------------------------

def find_exercises(nb, name="notebook"):
    """The exercises of ``nb`` (an nbformat notebook), in order, as ``Exercise``s.

    Raises MarkerError, naming the cell, when the markers don't fit: a solution in a
    markdown cell, a solution cell whose next code cell calls no check of that
    function, two exercises with one name.
    """
    exercises, seen = [], {}
    for i, cell in enumerate(nb.cells):
        where = f"{name}, cell {i}"
        _stray_marker(cell.source, where)
        if cell.cell_type != "code":
            if any(w in cell.source for w in MARKER_WORDS):
                raise MarkerError(f"{where}: a {cell.cell_type} cell has exercise markers; only code cells may.")
            continue
        _, n = strip_solutions(cell.source, where)       # raises on unpaired markers
        strip_hidden_tests(cell.source, where)
        if n == 0:
            continue
        j = next((k for k in range(i + 1, len(nb.cells)) if nb.cells[k].cell_type == "code"), None)
        if j is None:
            raise MarkerError(f"{where}: an exercise with no code cell after it to run its check.")
        check_where = f"{name}, cell {j}"
        calls = [(k, m) for k, line in enumerate(nb.cells[j].source.split("\n"))
                 if (m := CHECK_CALL.match(line))]
        if len(calls) != 1:
            raise MarkerError(f"{check_where}: the cell after the exercise in cell {i} must call its check "
                              f"once, on a line of its own (e.g. 'softmax = check_softmax(softmax)'); "
                              f"found {len(calls)} such lines.")
        line, call = calls[0]
        fn = call.group("arg")
        if not re.search(rf"^def {re.escape(fn)}\(", cell.source, re.M):
            raise MarkerError(f"{check_where}: the check is called on {fn!r}, but cell {i} defines no "
                              f"function {fn}.")
        if call.group("target") not in (None, fn):
            raise MarkerError(f"{check_where}: write '{fn} = {call.group('check')}({fn})', so that the cells "
                              f"below use what the check hands back.")
        if fn in seen:
            raise MarkerError(f"{where}: a second exercise named {fn!r} (the first is in cell {seen[fn]}).")
        if any(BEGIN.match(x) for x in nb.cells[j].source.split("\n")):
            raise MarkerError(f"{check_where}: a check cell can't hold a solution.")
        seen[fn] = i
        exercises.append(Exercise(
            name=fn, check=call.group("check"), solution_cell=i, check_cell=j, check_line=line,
            points=_points(nb.cells[j].source, check_where),
            hidden_tests=any(BEGIN_HIDDEN.match(x) for x in nb.cells[j].source.split("\n"))))
    return exercises
