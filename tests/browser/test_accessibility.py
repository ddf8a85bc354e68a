"""Accessibility (WCAG 2.1 AA): axe-core on the live demo and on every notebook with a widget;
the demo by keyboard alone; the demo at 400 % zoom.

- The demo is all ours (its Voila template too): no violation of the WCAG 2.0/2.1 A and AA rules
  anywhere on it, at the three projector sizes and at 400 % zoom (1280 px at 400 % is 320 CSS px).
- Each notebook whose code uses a widget (found by reading the notebooks, so a renumbering
  changes nothing here) runs in JupyterLab and is audited: its outputs and markdown (ours) have
  no violation, and what fails in JupyterLab's own chrome is listed in axe_audit.KNOWN_CHROME.
  The notebooks that another test already runs in JupyterLab are audited there, at its end
  (``audited_elsewhere``), so that none runs twice.
- Keyboard: Tab and Shift+Tab reach every control of the demo and leave the drawing canvas;
  a digit picked from the menu of validation digits gets an answer without the mouse.

The counts per rule of each audit go to artifacts/browser/axe-<page>.json.
"""

import importlib
import json
import re
from pathlib import Path

import pytest

import axe_audit
import jupyter_ui as ui
from test_demo import PROJECTORS, open_demo
from widget_checks import INK_ON_CANVAS

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
# 400 % zoom of the smallest projector: what a low-vision viewer's browser lays out.
ZOOMED = (1280 // 4, 720 // 4)

# A notebook "has a widget" when its code imports one: ipywidgets itself, mnistlib.widgets, or
# one of the widget modules under their old names (mnistlib.draw_widget, ...).
_WIDGET_IMPORT = re.compile(r"^\s*(import ipywidgets|from ipywidgets\b|from mnistlib\.\w*widget\w* import"
                            r"|from mnistlib import .*\b\w*widgets?\b|import mnistlib\.\w*widget)", re.M)


def audited_elsewhere():
    """The notebooks that another test of this folder runs in JupyterLab and audits at its end: the
    ...NOTEBOOK constants of each test module that calls axe_audit.check_notebook."""
    names = set()
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        if path.name == Path(__file__).name or "axe_audit.check_notebook" not in path.read_text():
            continue
        module = importlib.import_module(path.stem)
        names |= {v for k, v in vars(module).items() if k.endswith("NOTEBOOK") and isinstance(v, str)}
    return names


AUDITED_ELSEWHERE = audited_elsewhere()


def notebooks_with_widgets():
    """The names of the notebooks in notebooks/ whose code imports a widget, in order."""
    names = []
    for path in sorted((REPO_ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        if _WIDGET_IMPORT.search(code):
            names.append(path.name)
    return names


@pytest.fixture
def axe():
    why = axe_audit.missing_axe()
    if why:
        pytest.skip(why)


def test_every_notebook_with_a_widget_is_audited():
    found = notebooks_with_widgets()
    assert "03_softmax.ipynb" in found and "01_mnist_data.ipynb" not in found, found
    assert len(found) >= 8, found
    # the other tests' notebooks exist: a renamed notebook is not silently left out
    assert AUDITED_ELSEWHERE <= set(found), AUDITED_ELSEWHERE - set(found)


def test_demo_has_no_violations_at_each_projector_size_and_at_400_percent(axe, voila_server, new_page,
                                                                          screenshot):
    page = new_page(viewport={"width": PROJECTORS[0][0], "height": PROJECTORS[0][1]})
    open_demo(page, voila_server)
    assert page.title() == "MNIST from scratch: live demo"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("main .mnistlib-draw").count() == 1, "the page's content is not in a main landmark"
    problems = []
    for width, height in [*PROJECTORS, ZOOMED]:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function(f"() => document.documentElement.clientWidth === {width}")
        found = axe_audit.audit(page, whole_page_ours=True)
        axe_audit.save_counts(f"demo-{width}x{height}", found)
        if found:
            problems.append(f"at {width}x{height}:\n" + axe_audit.report(found, where=("ours",)))
    assert not problems, "\n".join(problems)
    # every picture says what it shows
    alts = page.evaluate("() => [...document.images].map(i => i.getAttribute('alt') || '')")
    assert all(len(a) > 20 for a in alts), alts


def test_demo_at_400_percent_reflows_without_sideways_scrolling(voila_server, new_page, screenshot):
    """1280 x 720 at 400 %: nothing of ours needs horizontal scrolling; the canvas fits in 320 px."""
    page = new_page(viewport={"width": ZOOMED[0], "height": ZOOMED[1]}, device_scale_factor=4)
    open_demo(page, voila_server)
    screenshot(page, "a11y-demo-400-percent-whole-page")
    problems = ui.overflow(page)
    assert problems == [], "\n".join(problems)
    canvas = page.locator(".mnistlib-draw-canvas").first.bounding_box()
    assert canvas["width"] <= ZOOMED[0], canvas
    # nothing cut off either: each control lies within its row, which grows when it wraps
    assert page.evaluate(_SPILLED) == []


# Each control (drop-down, text box, button, slider and its readout) that reaches below the row it
# sits in: a row of fixed height whose content wrapped would hide it.
_SPILLED = """() => [...document.querySelectorAll(
    '.widget-inline-hbox select, .widget-inline-hbox input, .widget-inline-hbox .noUi-target, .widget-readout')]
  .filter(e => e.getClientRects().length > 0)
  .filter(e => { const row = e.closest('.widget-inline-hbox').getBoundingClientRect();
                 return e.getBoundingClientRect().bottom > row.bottom + 1; })
  .map(e => e.closest('.widget-inline-hbox').className)"""


# The focused element: an id of its own (so that a trap shows as the same element again), the
# mnistlib class of it or of the widget it is in, its tag and accessible name as written.
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  if (!e.dataset.kbd) e.dataset.kbd = String(document.querySelectorAll('[data-kbd]').length);
  const owner = e.closest('[class*="mnistlib-"]');
  return {id: e.dataset.kbd, tag: e.tagName.toLowerCase(), role: e.getAttribute('role') || '',
          css: owner ? [...owner.classList].filter(c => c.startsWith('mnistlib-')).join(' ') : '',
          name: e.getAttribute('aria-label') || ''};
}"""

# What the keyboard must reach on the demo page (each: the mnistlib class it is in).
CONTROLS = ["mnistlib-lr-slider", "mnistlib-live-train", "mnistlib-demo-model-choice", "mnistlib-explorer-index",
            "mnistlib-explorer-prev", "mnistlib-explorer-next", "mnistlib-explorer-next-mistake",
            "mnistlib-explorer-compare", "mnistlib-draw-clear", "mnistlib-draw-brush", "mnistlib-draw-pick",
            "mnistlib-draw-threshold", "mnistlib-draw-compare"]


def tab_through(page, key, steps):
    """Press ``key`` (Tab or Shift+Tab) up to ``steps`` times; the focused elements in turn, up to the
    end of the page (focus leaves it) or an element seen before (focus went round)."""
    seen = []
    for _ in range(steps):
        page.keyboard.press(key)
        focused = page.evaluate(_FOCUSED)
        if focused is None or any(f["id"] == focused["id"] for f in seen):
            break
        seen.append(focused)
    return seen


def test_demo_by_keyboard_alone(voila_server, new_page, screenshot):
    """Tab reaches every control once and in page order, Shift+Tab goes back the same way, a digit
    picked from the menu with the arrow keys gets an answer, and Tab leaves the canvas."""
    page = new_page(viewport={"width": 1366, "height": 768})
    open_demo(page, voila_server)
    page.locator("h1").first.click()          # start from the top of the page, nothing focused
    forward = tab_through(page, "Tab", 60)
    ids = [f["id"] for f in forward]
    order = [f["css"].split()[0] for f in forward if f["css"]]
    missing = [c for c in CONTROLS if not any(c in f["css"].split() for f in forward)]
    assert not missing, f"Tab never reached {missing}; it went through {order}"
    assert not any(f["tag"] == "canvas" for f in forward), "the canvas takes no keys: it is not a Tab stop"
    # each slider's handle has a name a screen reader says (the others are named by their labels)
    handles = [f for f in forward if f["role"] == "slider"]
    assert len(handles) == 3 and all(f["name"] for f in handles), handles
    # after the last control, Tab leaves the page; Shift+Tab then walks the same way back
    assert page.evaluate(_FOCUSED) is None, "Tab did not leave the page after its last control"
    back = tab_through(page, "Shift+Tab", len(ids))
    assert [f["id"] for f in back] == ids[::-1], (forward, back)

    # a prediction without the mouse: Tab to the menu, then the arrow key picks its first digit
    page.locator("h1").first.click()
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused and "mnistlib-draw-pick" in focused["css"]:
            break
    else:
        pytest.fail("Tab never reached the menu of digits to try")
    answer = page.locator(".mnistlib-draw-answer")
    assert answer.locator("[aria-live='polite']").count() == 1, "the answer is not a live region"
    page.keyboard.press("ArrowDown")
    picked = page.locator(".mnistlib-draw-pick select").evaluate("s => s.options[s.selectedIndex].text")
    picked = picked.replace("\xa0", " ")          # ipywidgets writes the choices with no-break spaces
    page.wait_for_function("() => /\\d/.test(document.querySelector('.mnistlib-draw-answer').innerText)")
    page.wait_for_function(f"() => ({INK_ON_CANVAS})() > 500")
    status = page.locator(".mnistlib-draw-status").inner_text()
    assert status.startswith("Example ") and "answered" in status, status
    assert picked.startswith("a 0"), picked
    screenshot(page.locator(".mnistlib-draw"), "a11y-demo-keyboard-prediction")
    probs_alt = page.locator("img.mnistlib-draw-probs").get_attribute("alt")
    assert probs_alt.startswith("Prediction: "), probs_alt

    # a mouse user's focus on the canvas leaves it with Tab and with Shift+Tab
    canvas = page.locator(".mnistlib-draw-canvas canvas, canvas.mnistlib-draw-canvas").first
    for key in ("Tab", "Shift+Tab"):
        canvas.click()
        assert page.evaluate("() => document.activeElement.tagName") == "CANVAS"
        page.keyboard.press(key)
        assert page.evaluate("() => document.activeElement.tagName") != "CANVAS", f"{key} stayed on the canvas"
    assert page.errors == []


def test_chooser_status_is_announced(voila_server, page):
    open_demo(page, voila_server)
    live = page.locator(".mnistlib-demo-model-choice-status [aria-live='polite']")
    assert live.count() == 1 and "answers" in live.inner_text()


@pytest.fixture
def lab(lab_server):
    yield lab_server
    lab_server.shutdown_kernels()


@pytest.mark.parametrize("name", [n for n in notebooks_with_widgets() if n not in AUDITED_ELSEWHERE])
def test_notebook_has_no_violations_in_its_outputs(axe, lab, page, name):
    ui.open_notebook(page, lab, name, ui="lab")
    ui.run_all(page, timeout=600_000)
    assert ui.errors_on_page(page) == [], f"{name} did not run cleanly"
    axe_audit.check_notebook(page, name)
