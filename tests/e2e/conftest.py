"""The real product for browser tests: `demixer serve` (granian + one worker running the real
engine) against a fresh SQLite database and media folder, driven by Debian's chromium.

The server runs as a child process exactly as `make run` starts it, so the browser meets the same
WSGI server, whitenoise, worker and model a person would. Screenshots and the server's log go to
``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
START_TIMEOUT_S = 600  # granian + the worker warming every model and the analysis, on 2 cores
WORKER_READY = re.compile(r"worker ready", re.I)  # separation_worker's line once it polls

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
# with a running loop unless told otherwise. These tests never touch the ORM directly, but
# pytest-django fixtures may.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


PASSWORD = "correct-horse-staple-42"  # every browser test's users


@dataclass
class LiveApp:
    url: str
    data_dir: Path
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app_env(data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "DEMIXER_MEDIA_DIR", "DEMIXER_DEBUG"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="demixer.config.settings",
        DEMIXER_DATA_DIR=str(data_dir),
        DEMIXER_HOST="127.0.0.1",
        DEMIXER_PORT=str(port),
        DEMIXER_SECRET_KEY="e2e-tests-only-" + "x" * 40,
        DEMIXER_EMAIL_BACKEND="file",
        DEMIXER_MODELS_DIR=os.environ.get("DEMIXER_MODELS_DIR", str(ROOT / "var" / "models")),
        # every browser test signs up its own user from 127.0.0.1: the per-IP sign-up throttle
        # (5 an hour; tested in tests/web/test_throttles.py) would refuse the sixth
        DEMIXER_SIGNUPS_PER_IP_HOUR="1000",
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_until_up(url: str, process: subprocess.Popen[bytes], app: LiveApp) -> None:
    """Until the web answers and the worker says it is ready: the worker warms its models up at
    start, and a test racing that warm-up for the two CPUs would only measure the contention."""
    deadline = time.monotonic() + START_TIMEOUT_S
    web_up = False
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"demixer serve exited with {process.returncode}:\n{app.log_tail()}")
        if web_up and WORKER_READY.search(app.log_tail(200)):
            return
        web_up = web_up or _answers(url)
        time.sleep(0.3)
    pytest.fail(f"demixer serve was not ready on {url}:\n{app.log_tail()}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (our own server)
            return resp.status < 500
    except urllib.error.HTTPError as err:
        return err.code < 500
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # serve forwards it to granian and the worker
    try:
        process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only what we started
        process.wait()


@contextmanager
def serving(
    data_dir: Path, log: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[LiveApp]:
    """`demixer serve` on a free port with its own database (in ``data_dir``), media and worker,
    its output in ``log``; ``extra_env`` overrides the environment (another models folder)."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    env = {**_app_env(data_dir, port), **(extra_env or {})}
    app = LiveApp(f"http://127.0.0.1:{port}", data_dir, log)
    migrate = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    with app.log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("demixer")), "serve"],  # what `make run` runs
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_up(app.url + "/", process, app)
            yield app
        finally:
            _stop(process)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """`demixer serve` on a free port with its own database, media and worker."""
    with serving(tmp_path_factory.mktemp("demixer-e2e"), ARTIFACTS / "e2e-server.log") as app:
        yield app


@contextmanager
def serving_models(
    tmp_path_factory: pytest.TempPathFactory, name: str, fill: Callable[[Path], None]
) -> Iterator[LiveApp]:
    """:func:`serving` with a models folder of its own, made fresh and filled by ``fill`` (links
    to the models a module needs, its imports or recipes): its worker warms those alone."""
    models = tmp_path_factory.mktemp(f"{name}-models")
    fill(models)
    data_dir = tmp_path_factory.mktemp(f"demixer-e2e-{name}")
    log = ARTIFACTS / f"e2e-{name}-server.log"
    with serving(data_dir, log, {"DEMIXER_MODELS_DIR": str(models)}) as app:
        yield app


def generated_clip(folder: Path, name: str, seconds: float, seed: int) -> Path:
    """Generated music (:mod:`demixer.testing.signals`) as a 16-bit 44.1 kHz WAV."""
    from demixer.testing import signals

    path = folder / f"{name}.wav"
    sf.write(path, signals.mix(signals.song(seconds, seed=seed)).T, 44100, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def serve_live_app() -> Callable[..., AbstractContextManager[LiveApp]]:
    """:func:`serving`, for a test module that needs a live app of its own (another models
    folder, say): its module-scoped ``live_app`` enters it, and ``page`` then opens that app,
    while the other modules keep the shared one (one worker warm-up each)."""
    return serving


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run make browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed  # for the page fixture's failure screenshot
    return report


# Chromium logs a refused inline script or style to the console as well; this also catches
# what it does not log (and says which directive refused what).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} refused ${e.blockedURI || "inline"}` +
    ` at ${e.sourceFile || e.documentURI}:${e.lineNumber}`);
});
"""


@pytest.fixture
def page(browser, live_app: LiveApp, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context (no cookies) whose page errors are collected; a failing test
    leaves a screenshot of where it stopped in test-artifacts/. Any console message (a CSP
    violation is one) fails the test: the pages have no reason to write there."""
    context = browser.new_context(
        base_url=live_app.url, viewport={"width": 1280, "height": 860}, accept_downloads=True
    )
    context.set_default_timeout(30_000)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text} ({page.url})"))
    yield page
    if getattr(request.node, "call_failed", False):
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()
    if console:
        pytest.fail("the browser's console was not quiet:\n" + "\n".join(console), pytrace=False)


# The result page's player, as its module exports it (player.js: `player`). A module is one
# instance per URL, so importing the URL the page loaded player.js from gives the page's own;
# the module script runs once the document is parsed, so this waits for that first.
PLAYER_MODULE = """async () => {
  if (document.readyState === "loading") {
    await new Promise((done) => document.addEventListener("DOMContentLoaded", done, {once: true}));
  }
  const script = document.querySelector("script[type=module][src*='/player/player.']");
  return script ? (await import(script.src)).player : null;
}"""


class PagePlayer:
    """The result page's player on a page, for the tests to read and drive: never a global.

    ``expression`` is a JavaScript function of the player (and ``arg``), as Playwright's own
    evaluate takes one of the page: ``player.evaluate("p => p.position()")``."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """What ``expression`` returns (awaited, as ``page.evaluate`` does)."""
        return self.page.evaluate(
            f"async (arg) => ({expression})(await ({PLAYER_MODULE})(), arg)", arg
        )

    def wait_for(self, expression: str, arg: Any = None, timeout: float | None = None) -> None:
        """Until ``expression`` is truthy (polled every animation frame, like
        ``page.wait_for_function``); false while the page has no player."""
        handle = self.page.evaluate_handle(PLAYER_MODULE)
        try:
            self.page.wait_for_function(
                f"([p, arg]) => p !== null && Boolean(({expression})(p, arg))",
                arg=[handle, arg],
                timeout=timeout,
            )
        finally:
            handle.dispose()

    def on(self, page: Any) -> PagePlayer:
        """The player on another page (a second browser context's, say)."""
        return PagePlayer(page)


@pytest.fixture
def player(page) -> PagePlayer:
    """The result page's player on ``page`` (see :class:`PagePlayer`)."""
    return PagePlayer(page)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def sign_up(page) -> Callable[[str], None]:
    """Sign up a new user through the page's form (password ``PASSWORD``): the browser is then
    logged in on the upload page."""

    def sign_up_as(name: str) -> None:
        page.goto("/accounts/signup/")
        page.fill("input[name='username']", name)
        page.fill("input[name='email']", f"{name}@example.com")
        page.fill("input[name='password1']", PASSWORD)
        page.fill("input[name='password2']", PASSWORD)
        page.locator("form:has(input[name='password2']) [type='submit']").click()
        page.wait_for_selector("input[type='file']")

    return sign_up_as


def separate_and_open(page, timeout_s: float = 600) -> str:
    """Submit the upload form as it is filled, wait (polling the job's status) until the worker
    is done, then until the page has turned into the finished result with its player ready;
    returns the job's URL."""
    page.locator("form:has(input[type='file']) [type='submit']").click()
    page.wait_for_selector("#job[data-status]")
    job_url = page.url.split("?")[0]
    status: dict = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = page.request.get(job_url + "status/").json()
        if status["status"] in ("done", "failed", "cancelled"):
            break
        time.sleep(0.5)
    assert status.get("status") == "done", status
    page.wait_for_selector("#player:not([data-live='true'])", timeout=120_000)
    page.wait_for_function("() => document.getElementById('player').dataset.state !== 'loading'")
    assert page.get_attribute("#player", "data-state") == "ready", page.text_content(
        ".player-status"
    )
    return job_url
