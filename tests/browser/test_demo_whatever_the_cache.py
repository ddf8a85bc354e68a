"""The live demo always comes up, with every section, and its footer says which model answers and why.

Two demos on the bundled subset, each with a model cache of its own:
- every model file in the cache damaged (one character of a header changed, as in
  the issue): the launcher names the files, the page shows every section, the model
  bar names the damaged files, softmax regression is trained again as the page opens,
  and the CNN when it is picked; the good files then replace the damaged ones;
- no model can be trained at all (``zoo.train`` made to fail with a MemoryError in the
  page's kernel, by a ``sitecustomize`` module on PYTHONPATH): softmax regression answers
  untrained, and the footer says so and why.
"""

import shutil
import tempfile
from pathlib import Path

import pytest

import jupyter_ui as ui
from test_demo import STREAMS, WIDGETS, open_demo
from test_model_chooser import CHOICE, STATUS, wait_text

from mnistlib import zoo

pytestmark = pytest.mark.browser

NO_MEMORY = '''
import mnistlib.zoo


def train(*args, **kwargs):
    raise MemoryError("Unable to allocate 4.77 GiB for an array")


mnistlib.zoo.train = train
'''


@pytest.fixture(scope="module")
def workdir():
    root = Path(tempfile.mkdtemp(prefix="mnistlib-resilience-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def damage(path):
    blob = bytearray(path.read_bytes())
    blob[blob.index(b"{'descr'")] = ord("(")       # numpy raised tokenize.TokenError on this one
    path.write_bytes(blob)


@pytest.fixture(scope="module")
def damaged_cache(workdir, subset_mnist):
    cache = workdir / "damaged"
    paths = {name: zoo.trained(name, subset_mnist, cache_dir=cache, say=None).path for name in zoo.NAMES}
    zoo.forget()
    for path in paths.values():
        damage(path)
    return cache, paths


@pytest.fixture(scope="module")
def demo_damaged(start_server, damaged_cache):
    cache, _ = damaged_cache
    server = start_server("voila", "voila-damaged-cache", MNISTLIB_CACHE_DIR=str(cache), MNIST_DATA_DIR="")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo_no_training(start_server, workdir):
    site = workdir / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_MEMORY)
    server = start_server("voila", "voila-no-training", MNISTLIB_CACHE_DIR=str(workdir / "empty"),
                          MNIST_DATA_DIR="", PYTHONPATH=str(site))
    yield server
    server.stop()


def assert_every_section(page):
    for selector in WIDGETS:
        assert page.locator(selector).count() >= 1, f"{selector} is missing"
    assert ui.errors_on_page(page) == [] and page.errors == []
    assert page.locator(STREAMS).count() == 0
    assert "Traceback" not in page.locator("body").inner_text()


def test_a_cache_of_damaged_files_names_them_and_the_page_comes_up_whole(demo_damaged, damaged_cache, page,
                                                                          screenshot):
    _, paths = damaged_cache
    log = demo_damaged.log_path.read_text()
    for name, path in paths.items():                   # the launcher read them, and says what it found
        assert f"the file {path} in the cache is damaged" in log, log[:3000]
    assert "are ready in the cache" not in log
    open_demo(page, demo_damaged)
    assert_every_section(page)
    status = page.locator(STATUS).inner_text()
    assert status.startswith("Softmax regression answers ("), status
    for name in ("mlp", "cnn"):
        assert f"{zoo.TITLES[name]}: the file {paths[name]} in the cache is damaged" in status, status
    footer = page.locator(".mnistlib-demo-footer").inner_text()
    assert (f"Softmax regression answers above (trained just now: the file {paths['softmax']} in the cache is "
            "damaged or out of date") in footer, footer
    screenshot(page, "voila-damaged-cache-1-whole-page")

    page.locator(f"{CHOICE} select").select_option(zoo.LABELS["cnn"])
    wait_text(page, STATUS, "s.startsWith('The CNN answers (')", timeout=600_000)
    wait_text(page, ".mnistlib-demo-footer", "s.includes('The CNN answers above (trained just now: the file')")
    assert_every_section(page)
    screenshot(page.locator(".mnistlib-demo-footer"), "voila-damaged-cache-2-cnn-footer")
    # the files trained again replaced the damaged ones
    assert zoo.file_state("softmax", "subset", cache_dir=damaged_cache[0])[0] == "ready"
    assert zoo.file_state("cnn", "subset", cache_dir=damaged_cache[0])[0] == "ready"


def test_when_no_model_can_be_trained_the_page_comes_up_and_says_why(demo_no_training, page, screenshot):
    open_demo(page, demo_no_training)
    assert_every_section(page)
    footer = page.locator(".mnistlib-demo-footer").inner_text()
    assert ("Softmax regression answers above, but untrained: training it failed (MemoryError: Unable to "
            "allocate 4.77 GiB for an array)") in footer, footer
    status = page.locator(STATUS).inner_text()
    assert "training it failed (MemoryError" in status, status
    screenshot(page, "voila-no-training-whole-page")
