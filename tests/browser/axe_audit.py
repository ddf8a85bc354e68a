"""The accessibility audit: axe-core in the page, its WCAG 2.0/2.1 A and AA rules, and whose each
violation is.

axe-core comes from the npm registry into tests/browser/axe/ (``npm ci`` there; .ci/browser-deps
does it). ``audit(page)`` injects it, runs the rules tagged wcag2a, wcag2aa, wcag21a and wcag21aa
on the whole page, and sorts every element that fails into
- ours: inside a cell's output or rendered markdown (our widgets, figures and text), or anywhere
  on a page that is all ours (the demo, whose Voila template we choose);
- known: in JupyterLab's own chrome and listed in KNOWN_CHROME with its upstream issue, or a
  figure whose alt text JupyterLab drops (``FIGURE_ALT_DROPPED``: accepted only when the output
  carries alt text in its metadata);
- unknown: in the chrome but not listed (a new JupyterLab problem: list it, with its issue).
"""

import json
import time
from pathlib import Path

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# JupyterLab 4's image renderer ignores the "alt" of an output's metadata, which nbconvert's
# classic template and IPython's Image use: an upstream limitation, not a figure without text.
FIGURE_ALT_DROPPED = "https://github.com/jupyter/enhancement-proposals/issues/120"

# Violations in JupyterLab's chrome (menus, toolbars, side bars, code editors): rule id ->
# [(a CSS selector the failing element matches or sits in, its upstream issue or None)].
# Found with JupyterLab 4.6 and axe-core 4.14; each is in JupyterLab's own markup, not ours.
KNOWN_CHROME = {
    # toolbar buttons (<jp-button>, role none) carry aria-pressed
    "aria-allowed-attr": [("jp-button.jp-ToolbarButtonComponent",
                           "https://github.com/jupyterlab/jupyterlab/issues/16891")],
    # the code editors (CodeMirror's role="textbox") have no accessible name
    "aria-input-field-name": [(".jp-Cell-inputArea .cm-content[role='textbox']",
                               "https://github.com/jupyterlab/jupyterlab/issues/10347")],
    # the notebook's cell list has role="feed" but its cells are not articles
    "aria-required-children": [(".jp-WindowedPanel-viewport[role='feed']",
                                "https://github.com/jupyterlab/jupyterlab/issues/14765")],
    # the button that collapses a markdown heading's section has no text or label
    "button-name": [(".jp-InputPrompt .jp-collapseHeadingButton",
                     "https://github.com/jupyterlab/jupyterlab/issues/16890")],
}


def missing_axe():
    """Why the audit cannot run here (a sentence), or None."""
    if not AXE_JS.is_file():
        return (f"axe-core is not installed in {AXE_DIR.relative_to(AXE_DIR.parents[2])}: "
                "run `npm ci` there (or sudo bash .ci/browser-deps)")
    return None


# Runs axe and returns, per violation and element: the rule, its impact and help, the element's
# selector and a piece of its HTML, and where it sits (ours / chrome). With `whole_page_ours`,
# every element is ours. A chrome element is "known" when a KNOWN_CHROME selector matches it.
_RUN = """async ([tags, wholePageOurs, known]) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                           resultTypes: ['violations'], elementRef: true});
  const ours = e => wholePageOurs || !!e.closest(
      '.jp-OutputArea-output, .jp-MarkdownOutput, .jp-RenderedMarkdown');
  // The alt text an output's metadata gives the figure this element shows, or null.
  const metadataAlt = e => {
    const app = window.jupyterapp;
    const panel = app && app.shell && app.shell.currentWidget;
    if (!panel || !panel.content || !panel.content.widgets) return null;
    for (const cell of panel.content.widgets) {
      const area = cell.outputArea;
      if (!area) continue;
      for (let i = 0; i < area.widgets.length && i < area.model.length; i++) {
        if (area.widgets[i].node.contains(e)) {
          const md = area.model.get(i).metadata || {};
          for (const mime of ['image/png', 'image/jpeg'])
            if (md[mime] && md[mime].alt) return md[mime].alt;
          return null;
        }
      }
    }
    return null;
  };
  const found = [];
  for (const v of results.violations) {
    for (const n of v.nodes) {
      const e = n.element;
      let where = ours(e) ? 'ours' : 'unknown';
      let upstream = null;
      if (where === 'ours' && v.id === 'image-alt' && e.tagName === 'IMG' && !wholePageOurs &&
          e.closest('.jp-RenderedImage') && metadataAlt(e)) {
        where = 'known'; upstream = 'figure alt text in the output metadata, dropped by JupyterLab';
      } else if (where === 'unknown') {
        for (const [selector, issue] of (known[v.id] || []))
          if (e.matches(selector) || e.closest(selector)) { where = 'known'; upstream = issue || 'known'; break; }
      }
      found.push({rule: v.id, impact: v.impact, help: v.help, where, upstream,
                  target: n.target.join(' '), html: n.html.slice(0, 160)});
    }
  }
  return found;
}"""


def audit(page, whole_page_ours=False):
    """Run axe's WCAG 2.0/2.1 A and AA rules on the page; a list of dicts, one per failing element:
    rule, impact, help, where ("ours", "known" or "unknown"), upstream, target, html.
    ``audit.seconds`` is how long the last audit took."""
    started = time.monotonic()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    known = {rule: [list(entry) for entry in entries] for rule, entries in KNOWN_CHROME.items()}
    found = page.evaluate(_RUN, [WCAG_TAGS, whole_page_ours, known])
    audit.seconds = time.monotonic() - started
    return found


def counts(found, where=None):
    """{rule: number of failing elements}, for one kind of ``where`` or all."""
    out = {}
    for f in found:
        if where is None or f["where"] == where:
            out[f["rule"]] = out.get(f["rule"], 0) + 1
    return dict(sorted(out.items()))


def report(found, where=("ours", "unknown")):
    """The failing elements of these kinds, one readable line each (for an assertion message)."""
    return "\n".join(f"[{f['where']}] {f['rule']} ({f['impact']}): {f['help']}: {f['target']}  {f['html']}"
                     for f in found if f["where"] in where)


def check_notebook(page, name):
    """Audit the notebook on show in JupyterLab (after Run All): no violation in our outputs or
    markdown, none unknown in the chrome. The counts go to artifacts/browser/axe-lab-<name>.json."""
    import pytest

    why = missing_axe()
    if why:
        pytest.skip(why)
    found = audit(page)
    save_counts(f"lab-{Path(name).stem}", found)
    assert [f for f in found if f["where"] != "known"] == [], report(found)
    return found


def save_counts(name, found):
    """Write the counts per rule (ours, known, unknown) of one audit to artifacts/browser/axe-<name>.json."""
    artifacts = AXE_DIR.parents[2] / "artifacts" / "browser"
    artifacts.mkdir(parents=True, exist_ok=True)
    summary = {where: counts(found, where) for where in ("ours", "known", "unknown")}
    summary["seconds"] = round(getattr(audit, "seconds", 0.0), 1)
    (artifacts / f"axe-{name}.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
