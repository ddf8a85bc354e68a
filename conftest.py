"""Test set-up shared by tests/ and notebooks/: the full MNIST, and why anything was skipped.

The full MNIST. The stored notebook outputs were made with it, so nbval can only
compare them when it is here too. Before the tests start, find it:
MNIST_DATA_DIR, else ../shared/data/mnist beside the repository, else the
per-user cache, else one download attempt. If none works (offline, no copy),
the notebooks and the tests that need it are skipped with the reason, and
every other test still runs.

Skips. ``pytest -q`` shows how many tests were skipped but not why, so the end
of every run adds one line per reason ("8 browser tests skipped: Chromium not
found at ...; install it with ..."). In CI (the environment variable CI is
"true", as .ci/run sets it) nothing may be skipped: CI installs Chromium
(.ci/browser-deps) and has the full MNIST beside the clone, so a skip there
means part of the suite silently stopped running. Each skip in CI is turned
into a failure that names its reason, unless the reason is listed in
CI_ALLOWED_SKIPS (empty: no skip is expected in CI; add one only with a
comment that says why CI cannot run that test).
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

# Reasons (substrings) for which a test may be skipped in CI. None: see the docstring.
CI_ALLOWED_SKIPS = ()

_full_mnist = {}
_skips = []   # (kind, reason, allowed) for every skipped test or collector, in order


# --- the full MNIST -----------------------------------------------------------------

def full_mnist_dir():
    """(directory with the four full MNIST files, "") or (None, why not). Looked up once."""
    if not _full_mnist:
        _full_mnist["found"] = _find_full_mnist()
    return _full_mnist["found"]


def _find_full_mnist():
    from mnistlib import data

    if os.environ.get("MNIST_DATA_DIR"):
        return Path(os.environ["MNIST_DATA_DIR"]), ""
    beside = ROOT.parent / "shared" / "data" / "mnist"
    if beside.is_dir():
        os.environ["MNIST_DATA_DIR"] = str(beside)   # the notebooks' kernels inherit it
        return beside, ""
    try:
        found = data.download_mnist(progress=False)       # a no-op when the cache has it
        os.environ["MNIST_DATA_DIR"] = str(found)
        return found, ""
    except data.DownloadError:
        return None, ("the full MNIST is not on this machine and could not be downloaded "
                      "(the stored notebook outputs were made with it); "
                      "get it once with: python -m mnistlib download (or set MNIST_DATA_DIR)")


@pytest.fixture(scope="session")
def full_mnist_or_none():
    """The directory with the four full MNIST files, or None (see full_mnist_dir); never skips."""
    return full_mnist_dir()[0]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory with the four full MNIST files (see full_mnist_dir); skips without it."""
    path, why = full_mnist_dir()
    if path is None:
        pytest.skip(why)
    return path


def pytest_collection_modifyitems(config, items):
    notebooks = [item for item in items if _kind(item) == "notebook cell"]
    if notebooks and full_mnist_dir()[0] is None:
        skip = pytest.mark.skip(reason=full_mnist_dir()[1])
        for item in notebooks:
            item.add_marker(skip)


# --- skips: say why, and fail in CI -----------------------------------------------

def _kind(item):
    if ".ipynb" in item.nodeid:
        return "notebook cell"
    if item.get_closest_marker("browser"):
        return "browser test"
    return "test"


def _reason(report):
    """The reason a skipped report gives, without pytest's "Skipped: " prefix."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ").strip()


def _account(report, kind, fail=True):
    """Record a skip; in CI, turn one that is not allowed there into a failure."""
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _reason(report)
    allowed = not IN_CI or any(a in reason for a in CI_ALLOWED_SKIPS)
    _skips.append((kind, reason, allowed))
    if not allowed and fail:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _account(outcome.get_result(), _kind(item))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    # A whole module skipped (importorskip, allow_module_level): a failing collector would
    # stop the whole run, so in CI it fails the run at the end instead (pytest_sessionfinish).
    outcome = yield
    _account(outcome.get_result(), "test module", fail=False)


def pytest_sessionfinish(session, exitstatus):
    if any(not allowed for _, _, allowed in _skips) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def skip_summary():
    """One line per skip reason: "<n> <kind>s skipped: <reason>" (in CI, says which failed)."""
    groups = {}
    for kind, reason, allowed in _skips:
        groups.setdefault((kind, reason, allowed), 0)
        groups[(kind, reason, allowed)] += 1
    lines = []
    for (kind, reason, allowed), n in groups.items():
        what = f"{n} {kind}{'s' if n > 1 else ''}"
        if allowed:
            lines.append((f"{what} skipped: {reason}", False))
        else:
            lines.append((f"{what} FAILED in CI, where nothing may be skipped: {reason}", True))
    return lines


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # the outermost wrapper: these lines come after pytest's own summary, last before the counts
    yield
    for line, failed in skip_summary():
        terminalreporter.write_line(line, red=failed, yellow=not failed)
