"""Driving JupyterLab 4 / Notebook 7 / Voila pages with Playwright.

Plain functions over a Playwright ``page``; the tests in this folder import them.
Every wait is on the page's or the kernel's state (a selector, a status line, the
kernel's status), never a fixed sleep or a guess at how long something takes; the
timeouts only bound how long a broken page takes to fail, and are generous
because the machine may be busy.
"""

# The notebook on show (JupyterLab keeps other open notebooks in the DOM, hidden).
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'
ERROR_OUTPUT = f".jp-RenderedText{STDERR}"

# True once a "Run All" has finished: no cell is queued/running ([*]) and either
# every code cell has an execution count or an error stopped the run. Also true
# when a dialog (e.g. "Select Kernel" after a kernel died) blocks the page.
_RUN_FINISHED = """() => {
  if (document.querySelector('.jp-Dialog')) return true;
  const prompts = [...document.querySelectorAll('%s .jp-CodeCell .jp-InputArea-prompt')];
  if (prompts.length === 0) return false;
  if (prompts.some(p => p.textContent.includes('*'))) return false;
  if (prompts.every(p => /\\[\\d+\\]/.test(p.textContent))) return true;
  return [...document.querySelectorAll('.jp-OutputArea-output%s')]
    .some(e => /Traceback|Error/.test(e.textContent));
}""" % (NOTEBOOK, STDERR)


# True once the notebook on show is connected to its kernel and that kernel is idle:
# read from the app itself (window.jupyterapp, see the servers' expose_app_in_browser).
# A status-bar text can say "Idle" before any kernel exists; Run All then opens a
# "Select Kernel" dialog instead of running.
_KERNEL_READY = """(name) => {
  const app = window.jupyterapp;
  const panel = app && app.shell && app.shell.currentWidget;
  if (!panel || !panel.context || !panel.context.path.endsWith(name)) return false;
  const ctx = panel.sessionContext;
  const kernel = ctx && ctx.session && ctx.session.kernel;
  return ctx.isReady && !!kernel && kernel.connectionStatus === 'connected'
    && kernel.status === 'idle' && document.querySelector('%s .jp-Cell') !== null;
}""" % NOTEBOOK


def open_notebook(page, server, name, ui="lab"):
    """Open notebooks/<name> in JupyterLab (ui="lab") or Notebook 7 (ui="notebook"),
    and wait until its kernel is connected and idle."""
    # "reset": a fresh workspace, without the notebooks a previous test opened
    path = f"lab/tree/{name}?reset" if ui == "lab" else f"notebooks/{name}"
    page.goto(server.url(path))
    page.wait_for_function(_KERNEL_READY, arg=name, timeout=120_000, polling=100)


def menu(page, top, item):
    """Click a top menu (e.g. "Run") and then one of its items (e.g. "Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-content .lm-Menu-itemLabel").get_by_text(item, exact=True).first.click()


def run_all(page, timeout=600_000):
    """Clear all outputs, run all cells, and wait until the run has finished.

    Call after ``open_notebook`` (which waits for the kernel). Run All queues every
    cell at once, so each prompt shows [*] (or a number) as soon as it took effect.
    """
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        f"() => ![...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt')]"
        ".some(p => /\\d/.test(p.textContent))")
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        f"() => document.querySelector('.jp-Dialog') !== null || "
        f"[...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt')]"
        ".some(p => /[*\\d]/.test(p.textContent))", polling=100)
    page.wait_for_function(_RUN_FINISHED, timeout=timeout, polling=250)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError("a dialog interrupted Run All (did the kernel die?): "
                             + dialog.first.inner_text()[:300])
    # The last outputs' widget views render after the kernel has answered.
    page.wait_for_function("() => !document.body.innerText.includes('Loading widget...')")


def errors_on_page(page):
    """Tracebacks, error outputs and broken widgets visible on the page, as strings."""
    problems = []
    for el in page.locator(ERROR_OUTPUT).all():
        text = el.inner_text()
        if "Traceback" in text or "Error" in text:
            problems.append("error output: " + text[:800])
    for text in ("Error displaying widget", "Loading widget..."):
        # in the outputs only: a notebook's markdown may quote these messages (00 explains them)
        n = page.locator(".jp-OutputArea-output").get_by_text(text).count()
        if n:
            problems.append(f"{n} x '{text}'")
    return problems


def wait_widgets_rendered(page, selector, timeout=60_000):
    """Wait until every widget view has rendered (no "Loading widget..." left)."""
    page.wait_for_selector(selector, state="visible", timeout=timeout)
    page.wait_for_function(
        "() => !document.body.innerText.includes('Loading widget...')", timeout=timeout)


def img_src(page, selector):
    """The data URL of the first <img> inside the element with this CSS selector."""
    return page.locator(f"{selector} img, img{selector}").first.get_attribute("src")


def wait_img_changed(page, selector, before, timeout=30_000):
    """Wait until the <img> inside ``selector`` shows a picture other than ``before``."""
    page.wait_for_function(
        """([sel, before]) => {
             const img = document.querySelector(sel + ' img') || document.querySelector('img' + sel);
             return img !== null && img.getAttribute('src') !== before;
           }""",
        arg=[selector, before], timeout=timeout)


def slider_value(page, selector):
    """The readout text of the ipywidgets slider with this CSS class selector."""
    return page.locator(f"{selector} .widget-readout").first.inner_text().strip()


def drag_slider(page, selector, fraction):
    """Drag an ipywidgets slider's handle with the mouse to ``fraction`` (0..1) of its track.

    Works for sliders with continuous_update=False too: the value is sent on release.
    """
    track = page.locator(f"{selector} .noUi-target").first
    handle = page.locator(f"{selector} .noUi-handle").first
    track.scroll_into_view_if_needed()
    t, h = track.bounding_box(), handle.bounding_box()
    x0, y = h["x"] + h["width"] / 2, h["y"] + h["height"] / 2
    x1 = t["x"] + min(max(fraction, 0.0), 1.0) * t["width"]
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=12)
    page.mouse.up()


# --- layout: does the page fit the window? -------------------------------------------

# Every visible element of the page's content that reaches past the left or right
# edge of the window, every box with a horizontal scroll bar of its own, and the
# page itself if it scrolls sideways. Each as a short description.
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const name = e => e.tagName.toLowerCase() + '.' + [...e.classList].filter(
      c => c.startsWith('mnistlib') || c.startsWith('widget-') || c.startsWith('jp-')).join('.');
  const shown = e => { const s = getComputedStyle(e);
      return s.display !== 'none' && s.visibility !== 'hidden' && e.getClientRects().length > 0; };
  const problems = [];
  if (document.documentElement.scrollWidth > width)
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px > ${width} px`);
  for (const e of document.querySelectorAll('.jp-Cell *, .jupyter-widgets, .jupyter-widgets *')) {
    if (!shown(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > width + 0.5 || r.left < -0.5)
      problems.push(`${name(e)} spans x = ${Math.round(r.left)}..${Math.round(r.right)}, window 0..${width}`);
  }
  for (const e of document.querySelectorAll('*')) {
    const s = getComputedStyle(e);
    if (['auto', 'scroll'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1)
      problems.push(`${name(e)} scrolls sideways: ${e.scrollWidth} px of content in ${e.clientWidth} px`);
  }
  return problems;
}"""

# Every drop-down (<select>) too narrow to show its longest choice, measured in its own font.
_NARROW_DROPDOWNS = """() => {
  const ctx = document.createElement('canvas').getContext('2d');
  const problems = [];
  for (const select of document.querySelectorAll('.jupyter-widgets select')) {
    const s = getComputedStyle(select);
    ctx.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const text = Math.max(...[...select.options].map(o => ctx.measureText(o.text).width));
    // the arrow sits in the right padding: the text gets what is inside the padding
    const inner = select.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    if (inner < text)
      problems.push(`${[...select.parentElement.classList].filter(c => c.startsWith('mnistlib')).join('.')
                     || 'a dropdown'}: ${Math.round(inner)} px for text, its longest choice needs ` +
                    `${Math.round(text)} px`);
  }
  return problems;
}"""


def overflow(page):
    """What sticks out of the window or scrolls sideways, as strings ([] if it all fits)."""
    return page.evaluate(_OVERFLOW)


def narrow_dropdowns(page):
    """Drop-downs too narrow to show their longest choice, as strings ([] if none)."""
    return page.evaluate(_NARROW_DROPDOWNS)


# The height of the page's content: Voila scrolls it inside an element, not the document.
PAGE_HEIGHT = """() => Math.max(document.documentElement.scrollHeight,
    ...[...document.querySelectorAll('*')].filter(e => ['auto', 'scroll'].includes(
        getComputedStyle(e).overflowY)).map(e => e.scrollHeight))"""


# --- touch: a finger on a touch screen, through the DevTools protocol ------------------

class Finger:
    """One finger on the page's touch screen (a context made with has_touch=True).

    Sends Input.dispatchTouchEvent, as a touch screen would: touchStart, touchMove
    for every step, touchEnd. Coordinates are CSS pixels in the window.
    """

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)

    def _send(self, kind, points):
        self.cdp.send("Input.dispatchTouchEvent",
                      {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]})

    def stroke(self, points, steps=4):
        """Touch the first point, slide through the others (``steps`` moves per segment), lift."""
        self._send("touchStart", points[:1])
        x0, y0 = points[0]
        for x1, y1 in points[1:]:
            for k in range(1, steps + 1):
                self._send("touchMove", [(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)])
            x0, y0 = x1, y1
        self._send("touchEnd", [])

    def tap(self, x, y):
        self._send("touchStart", [(x, y)])
        self._send("touchEnd", [])


def touch_drag_slider(page, finger, selector, fraction):
    """Drag an ipywidgets slider's handle by touch to ``fraction`` (0..1) of its track."""
    track = page.locator(f"{selector} .noUi-target").first
    handle = page.locator(f"{selector} .noUi-handle").first
    track.scroll_into_view_if_needed()
    t, h = track.bounding_box(), handle.bounding_box()
    y = h["y"] + h["height"] / 2
    x1 = t["x"] + min(max(fraction, 0.0), 1.0) * t["width"]
    finger.stroke([(h["x"] + h["width"] / 2, y), (x1, y)], steps=12)


def close_tab(page, timeout=10_000):
    """Close a tab as a person closing it does: its beforeunload handlers run (Playwright's
    plain close() skips them) and "leave the page?" is answered yes. The demo's handler asks
    Voila to shut its kernel down, which Voila 0.5 refuses; the launcher's culling frees it."""
    if page.is_closed():
        return
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        with page.expect_event("close", timeout=timeout):
            page.close(run_before_unload=True)
    except Exception as e:  # a crashed or hung tab: the context's close() still ends it
        print(f"the tab did not close by itself: {e}")
