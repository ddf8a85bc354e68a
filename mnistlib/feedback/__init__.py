"""The course's feedback pages (``nbgrader generate_feedback``): each exercise named, the hidden
tests not shown, the formulas typeset with no network.

The course's nbgrader_config.py (written by tools/make_course.py) calls ``configure(c)``.
Feedback is then made in two steps:

- ``FeedbackCells``, in each graded cell that is not an answer: takes the hidden tests out
  of the source shown (the lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN
  TESTS``, as the release does), so that they can be used again next year; shows an error
  as its one line (``CheckFailed: softmax: ...``), without the traceback, which would
  quote the hidden tests' lines; and gives the cell its exercise's title, "softmax (1
  point)", and its score;
- the template ``templates/mnistlib_feedback`` (its ``page.html.j2`` extends nbgrader's
  ``feedback``) shows those titles in the contents and above each graded cell, where
  nbgrader says "Test cell"; its ``mathjax.html.j2`` takes the place of nbconvert's, which
  loads MathJax from a CDN.

MathJax 3 comes from the PyPI package django-static-mathjax (plain MathJax files in a
Python package; nothing of Django is used), which the ``teach`` extra installs. Its
``tex-svg-full.js`` is written into every feedback page: ``nbgrader release_feedback``
hands students the HTML file alone, so nothing beside it would reach them. The SVG
output draws the glyphs from data in the script itself (the HTML output would fetch font
files), and the full build has every TeX extension (the others fetch some on demand):
the formulas are typeset with no network. It adds 2.3 MB to each page.

Autograded notebooks and the gradebook keep everything; only the pages change. Needs
nbgrader (its ``teach`` extra): imported by nbgrader's configuration only.
"""

import importlib.util
from pathlib import Path

from nbconvert.filters import strip_ansi
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

__all__ = ["configure", "FeedbackCells", "without_hidden_tests", "mathjax_script", "exercise_title",
           "score_text", "TEMPLATES", "MATHJAX_PACKAGE"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
MATHJAX_PACKAGE = "django-static-mathjax"     # on PyPI; its files are in the import package "mathjax"
MATHJAX_SCRIPT = "tex-svg-full.js"


def configure(c):
    """Set nbgrader's configuration ``c`` (in nbgrader_config.py) to make this course's feedback."""
    import nbgrader
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    c.GenerateFeedback.preprocessors = [GetGrades, FeedbackCells, CSSHTMLHeaderPreprocessor]
    # Only the exporter of GenerateFeedback (the command and Formgrader's button): Formgrader's
    # own pages use an HTMLExporter too, with templates of their own.
    exporter = c.GenerateFeedback.HTMLExporter
    exporter.template_name = "mnistlib_feedback"
    # not index.html.j2: that name must find nbgrader's page, which ours extends
    exporter.template_file = "page.html.j2"
    # ours first; nbgrader's own, where its "feedback" template lives, after it
    nbgrader_templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
    exporter.extra_template_basedirs = [str(TEMPLATES), str(nbgrader_templates)]
    exporter.filters = {"mathjax_script": mathjax_script}


def exercise_title(cell):
    """"softmax (1 point)" for the graded cell with grade id check_softmax, worth 1 point."""
    meta = cell.metadata.nbgrader
    name = meta["grade_id"].removeprefix("check_")
    points = meta.get("points", 0)
    return f"{name} ({_number(points)} point{'' if points == 1 else 's'})"


def score_text(cell):
    """"score 0 / 1" for a graded cell that scored 0 of its 1 point (after nbgrader's GetGrades)."""
    meta = cell.metadata.nbgrader
    score = meta.get("score")
    return f"score {'not graded' if score is None else _number(score)} / {_number(meta.get('points', 0))}"


def _number(x):
    return f"{float(x):g}"


class FeedbackCells(Preprocessor):
    """In each graded cell that is not an answer: no hidden tests, errors as one line, and the
    exercise's title and score in ``cell.metadata.feedback`` for the template."""

    enabled = Bool(True, help="nbconvert's preprocessors are off until enabled; this one is on.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cell.source = without_hidden_tests(cell.source)
            cell.outputs = [_one_line(out) if out.output_type == "error" else out for out in cell.outputs]
            cell.metadata["feedback"] = {"title": exercise_title(cell), "score": score_text(cell)}
        return cell, resources


def without_hidden_tests(source):
    """``source`` without the lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS``."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
            hidden = "BEGIN" in line
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def _one_line(error):
    """An error output with its traceback cut to the line "Name: message"."""
    if error.get("evalue"):
        line = f"{error.ename}: {error.evalue}"
    else:                    # nbgrader's own timeout error says what happened in its traceback
        line = strip_ansi(error.traceback[-1]) if error.get("traceback") else error.ename
    error.traceback = [line]
    return error


def mathjax_script(name=MATHJAX_SCRIPT):
    """``<script>`` with MathJax's ``es5/<name>`` inside, from the installed django-static-mathjax."""
    found = importlib.util.find_spec("mathjax")
    path = Path(found.origin).parent / "static" / "mathjax" / "es5" / name if found and found.origin else None
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"MathJax's {name} was not found: the feedback pages need the package {MATHJAX_PACKAGE} "
            "(pip install it, or run `python run.py course`, which installs the teach extra)")
    code = path.read_text(encoding="utf-8")
    if "</script" in code.lower():
        raise ValueError(f"{path} holds '</script', which would end the page's <script> early")
    return f"<script>/* MathJax ({MATHJAX_PACKAGE}), Apache License 2.0 */\n{code}\n</script>"
