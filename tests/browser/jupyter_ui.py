"""Driving JupyterLab 4 / Notebook 7 / Voila pages with Playwright.

Plain functions over a Playwright ``page``; the tests in this folder import them.
Waits are on selectors or page conditions, never fixed sleeps.
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


def open_notebook(page, server, name, ui="lab"):
    """Open notebooks/<name> in JupyterLab (ui="lab") or Notebook 7 (ui="notebook")."""
    # "reset": a fresh workspace, without the notebooks a previous test opened
    path = f"lab/tree/{name}?reset" if ui == "lab" else f"notebooks/{name}"
    page.goto(server.url(path))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    # the kernel has started once the notebook shows its kernel name / idle status
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator, "
        ".jp-NotebookKernelStatus, .jp-KernelStatus')].some(e => "
        "(e.getAttribute('data-status') || e.textContent || '').toLowerCase().includes('idle'))"
        " || document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]') !== null",
        timeout=60_000)


def menu(page, top, item):
    """Click a top menu (e.g. "Run") and then one of its items (e.g. "Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel", has_text=top).first.click()
    page.locator(".lm-Menu-content .lm-Menu-itemLabel").get_by_text(item, exact=True).first.click()


def run_all(page, timeout=300_000):
    """Clear all outputs, run all cells, and wait until the run has finished."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        f"() => ![...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt')]"
        ".some(p => /\\d/.test(p.textContent))")
    # Right after a notebook opens, JupyterLab now and then drops a Run All while
    # it connects to the kernel: nothing starts. Then ask again.
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    started = (f"() => document.querySelector('.jp-Dialog') !== null || "
               f"[...document.querySelectorAll('{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt')]"
               ".some(p => /[*\\d]/.test(p.textContent))")
    for _ in range(3):
        menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(started, timeout=15_000, polling=100)
            break
        except PlaywrightTimeout:
            print("Run All Cells started no cell within 15 s; asking again")
    else:
        raise AssertionError("Run All Cells started no cell, three times")
    page.wait_for_function(_RUN_FINISHED, timeout=timeout, polling=250)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError("a dialog interrupted Run All (did the kernel die?): "
                             + dialog.first.inner_text()[:300])


def errors_on_page(page):
    """Tracebacks, error outputs and broken widgets visible on the page, as strings."""
    problems = []
    for el in page.locator(ERROR_OUTPUT).all():
        text = el.inner_text()
        if "Traceback" in text or "Error" in text:
            problems.append("error output: " + text[:800])
    for text in ("Error displaying widget", "Loading widget..."):
        n = page.get_by_text(text).count()
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
