"""What every widget shares: a status line, a guarded callback, a PNG image, an index with ◀ ▶.

Each widget of ``mnistlib.widgets`` builds its controls from these, so that
messages, errors, pictures and stepping through images look and behave the
same everywhere (see the package docstring for the conventions).
"""

import functools
import html

import ipywidgets

# The colour of a message in a status line, by its kind. Each has at least 4.5:1 contrast on white.
COLOURS = {"info": "#333", "ok": "#1a7f37", "warn": "#b35900", "error": "#c00"}
# Right and wrong answers are said by a mark and a word, never by the status line's colour alone.
MARKS = {True: "✓", False: "✗"}


def status_line(css):
    """An empty one-line HTML area for messages and errors, with the CSS class ``css``."""
    status = ipywidgets.HTML(value="")
    status.add_class(css)
    return status


def show_message(status, text, kind="info"):
    """Show ``text`` (plain text, escaped) in ``status``, coloured by ``kind``: a key of COLOURS."""
    status.value = f'<span style="color:{COLOURS[kind]}">{html.escape(text)}</span>'


def guarded(status):
    """Decorator: run a callback, and show any exception in ``status`` instead of raising it.

    A widget callback must never die silently: an exception raised in one is
    lost in the browser's console, and the control just stops answering.
    """
    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as e:
                show_message(status, f"{type(e).__name__}: {e}", "error")
        return run
    return wrap


def png_image(png, css):
    """An ipywidgets.Image of the PNG bytes ``png``, shown at the PNG's own width, with CSS class ``css``.

    Without a width, browsers stretch the picture to fit its box.
    """
    width = int.from_bytes(png[16:20], "big")       # the IHDR chunk of a PNG holds the size
    image = ipywidgets.Image(value=png, format="png",
                             layout=ipywidgets.Layout(width=f"{width}px", max_width="100%"))
    image.add_class(css)
    return image


class IndexStepper:
    """A number box for an index 0..n-1 and ◀ ▶ buttons that step it by one, wrapping around.

    n: how many there are; value: the first index (moved into 0..n-1).
    css: the prefix of the CSS classes: the buttons get ``css + "-prev"`` and
    ``css + "-next"``, the box ``css + "-index"`` unless ``index_css`` is given.
    what: what the index counts ("image", "unit"), for the buttons' tooltips.
    status: the widget's status line, where an error in a step is shown.
    on_step: called before each step (e.g. to reset another control), or None.
    box_options: for the ``ipywidgets.BoundedIntText`` (description, layout, ...).

    Parts: ``index`` (the box), ``prev``, ``next``; ``widgets``, the three in order.
    """

    def __init__(self, n, value=0, *, css, what, status, index_css=None, on_step=None, **box_options):
        self.n, self.on_step = n, on_step
        self.index = ipywidgets.BoundedIntText(value=min(max(int(value), 0), n - 1), min=0, max=n - 1,
                                               **box_options)
        self.index.add_class(index_css or f"{css}-index")
        self.prev = self._button("◀", f"previous {what}", f"{css}-prev")
        self.next = self._button("▶", f"next {what}", f"{css}-next")
        self.widgets = [self.index, self.prev, self.next]
        step = guarded(status)(self.step)
        self.prev.on_click(lambda _: step(-1))
        self.next.on_click(lambda _: step(+1))

    @staticmethod
    def _button(arrow, tooltip, css):
        button = ipywidgets.Button(description=arrow, layout=ipywidgets.Layout(width="40px"), tooltip=tooltip)
        button.add_class(css)
        return button

    def step(self, delta):
        """Move the index by ``delta``, wrapping around at either end."""
        if self.on_step is not None:
            self.on_step()
        self.index.value = (self.index.value + delta) % self.n
