"""Live-demo mode: the course's widgets on one page, large enough for a projector.

The page is ``demo/live_demo.ipynb``, shown by Voila without its code cells:

    voila demo/live_demo.ipynb --port=8866 --Voila.ip=127.0.0.1 --theme=light \
          --strip_sources=True --show_tracebacks=False --no-browser

(``python -m mnistlib.demo`` runs exactly that and prints the address.)
The notebook calls ``projector_mode()`` first and then shows the widgets from
``mnistlib.widgets`` unchanged: every control there already catches its own
errors and reports them in its status line, so nothing here can crash the kernel.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import ipywidgets as W_

# Widget text, buttons and sliders scaled up through ipywidgets' CSS variables.
# The figures are PNGs drawn at 100 dpi with fixed layouts (fast redraws), so
# they are enlarged here by CSS, text and all, rather than redrawn with larger
# fonts (which would overflow those layouts) or at a higher dpi (slower).
# "!important" because the widgets set their images' widths inline.
_CSS = """
<style>
:root {{
  --jp-widgets-font-size: {font}px;
  --jp-widgets-inline-height: {control}px;
  --jp-widgets-inline-label-width: {label}px;
  --jp-widgets-slider-handle-size: {handle}px;
  --jp-content-font-size1: {font}px;
  --jp-ui-font-size1: {font}px;
}}
body {{ font-size: {font}px; }}
.jp-RenderedText pre {{ font-size: {status}px; }}
.jp-RenderedHTMLCommon h1 {{ font-size: {h1}px; }}
.jp-RenderedHTMLCommon h2 {{ font-size: {h2}px; margin-top: 1.2em; }}
.jp-RenderedHTMLCommon p, .jp-RenderedHTMLCommon li {{ font-size: {font}px; line-height: 1.5; }}
.widget-slider .widget-readout, .widget-label, .widget-html-content,
.jupyter-widgets button, .widget-text input, .widget-dropdown select {{ font-size: {font}px; }}
.mnistlib-lr-slider, .mnistlib-draw-brush, .mnistlib-draw-threshold {{ width: {slider}px; }}
.mnistlib-lr-slider .widget-slider, .mnistlib-lr-slider .slider-container {{ width: {slider}px; }}
.mnistlib-lr-status, .mnistlib-live-status, .mnistlib-explorer-status,
.mnistlib-draw-status {{ font-size: {status}px; min-height: 1.6em; }}
img.mnistlib-lr-loss, img.mnistlib-live-loss {{ width: {plot}px !important; height: auto; }}
img.mnistlib-lr-heatmaps, img.mnistlib-live-heatmaps {{ width: {heat}px !important; height: auto; }}
img.mnistlib-explorer-probs {{ width: {probs}px !important; height: auto; }}
img.mnistlib-explorer-contrib {{ width: {contrib}px !important; height: auto; }}
img.mnistlib-draw-preview {{ width: {preview}px !important; height: auto; }}
img.mnistlib-draw-probs {{ width: {probs}px !important; height: auto; }}
img.mnistlib-draw-contrib {{ width: {contrib}px !important; height: auto; }}
</style>
"""


def projector_css(scale=1.5):
    """The demo page's style sheet (an HTML ``<style>`` element) at ``scale`` x normal size.

    scale: 1.0 is JupyterLab's usual size; 1.5 reads well from the back of a room.
    """
    if not isinstance(scale, (int, float)) or not 0.5 <= scale <= 4:
        raise ValueError(f"scale must be a number from 0.5 to 4; got {scale!r}")
    px = lambda n: round(n * scale)  # noqa: E731
    return _CSS.format(font=px(14), control=px(28), label=px(80), handle=px(16), h1=px(30),
                       h2=px(22), slider=px(420), status=px(15), plot=px(600), heat=px(660),
                       probs=px(380), contrib=px(700), preview=px(170))


def projector_mode(scale=1.5):
    """The style widget that switches the page to large type; display it first.

    scale: as for ``projector_css``.
    """
    style = W_.HTML(projector_css(scale))
    style.add_class("mnistlib-demo-style")
    return style


DEMO_NOTEBOOK = Path(__file__).resolve().parent.parent / "demo" / "live_demo.ipynb"


def voila_command(notebook=DEMO_NOTEBOOK, port=8866, open_browser=False):
    """The Voila command line (a list) that serves the demo on 127.0.0.1:port."""
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    cmd = [voila, str(notebook), f"--port={port}", "--Voila.ip=127.0.0.1",
           "--theme=light", "--strip_sources=True", "--show_tracebacks=False"]
    if not open_browser:
        cmd.append("--no-browser")
    return cmd


def main(argv=None):
    """``python -m mnistlib.demo [--port N] [--open]``: serve the live demo with Voila."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m mnistlib.demo", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8866)
    parser.add_argument("--open", action="store_true", help="open a browser tab")
    args = parser.parse_args(argv)
    if not DEMO_NOTEBOOK.is_file():
        sys.exit(f"demo notebook not found: {DEMO_NOTEBOOK} (run from a checkout of the repository)")
    if shutil.which("voila", path=str(Path(sys.executable).parent)) is None and not shutil.which("voila"):
        sys.exit("Voila is not installed: pip install -e '.[browser]'")
    print(f"Live demo: http://127.0.0.1:{args.port}/  (Ctrl+C to stop)", flush=True)
    try:
        return subprocess.call(voila_command(port=args.port, open_browser=args.open))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
