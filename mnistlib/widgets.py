"""Interactive widgets: thin ipywidgets shells over plain functions.

Each widget has a pure function behind it (``*_update`` or similar) that takes
plain values and returns what to show: tests and benchmarks call those directly,
no browser needed. The widget only wires controls to that function.

Conventions, so widgets behave the same everywhere (JupyterLab 4, Notebook 7,
Voila):
- Figures are drawn with ``mnistlib.plots`` and shown as PNG in an
  ``ipywidgets.Image`` that is updated in place (no stacked figures, no
  clear_output flicker).
- Sliders whose redraw is costly use ``continuous_update=False``.
- Every callback runs inside ``_guarded``, which catches any exception and
  shows it as a readable message in the widget's own status line, so a bad
  value can never leave a silent, dead control or a traceback.
- Each control carries a CSS class ``mnistlib-<widget>-<part>`` so the browser
  tests can find it.
"""

import functools
import html

import ipywidgets as W_

from .plots import fig_to_png


def _status(cls):
    """A one-line HTML status area for messages and errors."""
    out = W_.HTML(value="")
    out.add_class(cls)
    return out


def _show_message(status, text, kind="info"):
    colour = {"info": "#333", "ok": "#1a7f37", "warn": "#b35900", "error": "#c00"}[kind]
    status.value = f'<span style="color:{colour}">{html.escape(text)}</span>'


def _guarded(status):
    """Decorator: run a callback, and show any exception in ``status`` instead of raising."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as e:  # a widget callback must never die silently
                _show_message(status, f"{type(e).__name__}: {e}", "error")
        return run
    return wrap


def _image(fig, cls, width=None):
    img = W_.Image(value=fig_to_png(fig), format="png")
    if width:
        img.layout.width = width
    img.add_class(cls)
    return img
