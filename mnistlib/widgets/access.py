"""What screen readers and keyboards need from a widget and ipywidgets cannot give, added in the browser.

ipywidgets 8.1 gives a slider's handle (role "slider") no accessible name, an Image no
alt text and a text no live region; ipycanvas 0.14 puts its canvas in the Tab order and
swallows every key there, Tab included, so that keyboard focus can never leave it (a
trap, WCAG 2.1.2). None of this can be set from Python. ``Access`` is an invisible widget
that a widget puts in its box; its few lines of JavaScript (run by anywidget) give,
inside that box,

- each element whose CSS class is a key of ``names`` that accessible name (aria-label):
  a slider's handle, a button, a canvas (which also gets role "img" and leaves the Tab
  order: it takes no keys); the icon buttons of a Play widget are named by their icons;
- each image whose CSS class is a key of ``alts`` that alt text;
- each text whose CSS class is in ``live`` aria-live="polite": a screen reader reads it
  out when it changes;

and let Tab and Shift+Tab leave a canvas. They are applied again whenever the box's
content is redrawn. Python holds the texts (``box.access.alts``, ...), so tests read
them without a browser.
"""

import anywidget
import ipywidgets
import traitlets

_ESM = """
const CONTROL = '.noUi-handle, canvas, select, input, textarea, button';

// The element a screen reader meets for a widget: the widget itself, or the control inside it.
function control(el) {
  return el.matches('img, ' + CONTROL) ? el : (el.querySelector(CONTROL) || el);
}

function set(el, attribute, value) {
  if (el.getAttribute(attribute) !== value) el.setAttribute(attribute, value);
}

// ipywidgets' Play shows its buttons as icons only: name each by its icon.
const PLAY_ICONS = {'fa-play': 'play', 'fa-pause': 'pause', 'fa-stop': 'stop', 'fa-retweet': 'repeat',
                    'fa-repeat': 'repeat'};

function apply(model, scope) {
  for (const button of scope.querySelectorAll('.widget-play button')) {
    const icon = button.querySelector('i');
    const name = icon && Object.keys(PLAY_ICONS).find(c => icon.classList.contains(c));
    if (name) set(button, 'aria-label', PLAY_ICONS[name]);
  }
  for (const [css, name] of Object.entries(model.get('names'))) {
    for (const el of scope.getElementsByClassName(css)) {
      const target = control(el);
      set(target, 'aria-label', name);
      if (target.tagName === 'CANVAS') {
        set(target, 'role', 'img');
        set(target, 'tabindex', '-1');
      }
    }
  }
  for (const [css, alt] of Object.entries(model.get('alts'))) {
    for (const el of scope.getElementsByClassName(css)) {
      const img = el.tagName === 'IMG' ? el : el.querySelector('img');
      if (img) set(img, 'alt', alt);
    }
  }
  for (const css of model.get('live')) {
    for (const el of scope.getElementsByClassName(css)) {
      const text = el.querySelector('.widget-html-content') || el;
      set(text, 'aria-live', 'polite');
    }
  }
}

// ipycanvas handles every key on its canvas and cancels it; a Tab stopped here, on its way
// down to the canvas, never reaches that handler, so the browser moves the focus on.
function leaveCanvas(event) {
  if (event.key === 'Tab' && event.target instanceof HTMLCanvasElement) event.stopPropagation();
}

function render({ model, el }) {
  let scope = null, observer = null, pending = false, timer = null;
  const update = () => {
    if (pending || scope === null) return;
    pending = true;
    queueMicrotask(() => { pending = false; apply(model, scope); });
  };
  // The box adds this view to the page after rendering it: wait until it is there.
  const attach = () => {
    if (!el.isConnected) { timer = setTimeout(attach, 50); return; }
    scope = el.parentElement.closest('.widget-box') || el.parentElement;
    scope.addEventListener('keydown', leaveCanvas, true);
    observer = new MutationObserver(update);
    observer.observe(scope, { childList: true, subtree: true });
    update();
  };
  attach();
  model.on('change:names change:alts change:live', update);
  return () => {
    clearTimeout(timer);
    if (observer) observer.disconnect();
    if (scope) scope.removeEventListener('keydown', leaveCanvas, true);
  };
}

export default { render };
"""


class Access(anywidget.AnyWidget):
    """Accessible names, alt texts and live regions for the widgets in the same box (see above).

    names: {CSS class: accessible name}; alts: {CSS class: alt text}; live: CSS classes
    of the texts to announce. Put it in the box (it takes no room); change the texts
    with ``name`` and ``alt``.
    """

    _esm = _ESM
    names = traitlets.Dict().tag(sync=True)
    alts = traitlets.Dict().tag(sync=True)
    live = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, names=None, alts=None, live=()):
        super().__init__(names=dict(names or {}), alts=dict(alts or {}), live=list(live),
                         layout=ipywidgets.Layout(display="none"))

    def name(self, css, text):
        """Give the element with CSS class ``css`` the accessible name ``text``."""
        if self.names.get(css) != text:
            self.names = {**self.names, css: text}

    def alt(self, css, text):
        """Give the image with CSS class ``css`` the alt text ``text``."""
        if self.alts.get(css) != text:
            self.alts = {**self.alts, css: text}

    def alt_all(self, texts):
        """Several alt texts at once: {CSS class: text} (one message to the browser)."""
        if any(self.alts.get(css) != text for css, text in texts.items()):
            self.alts = {**self.alts, **texts}
