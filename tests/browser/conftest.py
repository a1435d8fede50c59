"""Headless Chromium for the browser tests (the weekly report here; the console's pages later).

``browser`` is one Chromium per session, driven by Playwright but launched from the system's
Chromium (``make browser-deps`` installs it; Playwright's own browser download cannot work
offline). ``open_page`` opens a URL in a fresh context and records every request the page makes
and every console error, and blocks anything but file: and data: URLs. ``artifacts`` is
``test-artifacts/`` at the project root (gitignored), for screenshots and PDFs.

Without Chromium (or the CJK fonts, or pdffonts) the tests skip and say how to install it;
with ``CI=true`` they fail instead, so CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from features.errors import DisputeRiskError
from serving.report_pdf import CHROMIUM_FLAGS, INSTALL_HINT, find_chromium

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
LOCAL_SCHEMES = ("file:", "data:")
VIEWPORT = {"width": 1366, "height": 768}  # the console's target screen


def require(condition: object, reason: str) -> None:
    """Skip with ``reason`` when ``condition`` is false; fail instead under CI=true."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The system Chromium executable."""
    try:
        return find_chromium()
    except DisputeRiskError as exc:  # it names the fix
        require(False, str(exc))
        raise


@pytest.fixture(scope="session")
def pdffonts_path() -> str:
    path = shutil.which("pdffonts")
    require(path, "pdffonts is missing: run `make browser-deps` (as root) or `apt-get install poppler-utils`")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def cjk_fonts() -> list[str]:
    """The installed fonts with Chinese glyphs (fontconfig); the pages and PDFs need one."""
    fc_list = shutil.which("fc-list")
    require(fc_list, f"fontconfig's fc-list is missing: {INSTALL_HINT}")
    assert fc_list is not None
    listing = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False)
    found = sorted({line.split(",")[0] for line in listing.stdout.splitlines() if line.strip()})
    require(found, f"no font with Chinese glyphs is installed: {INSTALL_HINT}")
    return found


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """One headless Chromium for the session (a Playwright ``Browser``)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the Python package playwright is missing: pip install -e '.[dev]'")
        raise
    flags = [flag for flag in CHROMIUM_FLAGS if flag != "--headless"]  # Playwright adds its own
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, args=flags, headless=True)
        yield chromium
        chromium.close()


@dataclass
class PageProbe:
    """An open page and what it did: every request URL, every console error and page error.
    ``allowed`` are the URL prefixes the page may reach (file: and data:, plus the app's origin)."""

    page: Any
    allowed: tuple[str, ...] = LOCAL_SCHEMES
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(self.allowed)]


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., PageProbe]]:
    """``open_page(url, allow=())`` loads ``url`` in a new context (1366x768, zh-CN) and returns
    its ``PageProbe``; requests to anything but file:, data: and the prefixes in ``allow`` (e.g.
    the console's ``http://127.0.0.1:PORT/``) are recorded and aborted."""
    contexts = []

    def open_(url: str, allow: Sequence[str] = ()) -> PageProbe:
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", service_workers="block")
        contexts.append(context)
        probe = PageProbe(context.new_page(), allowed=(*LOCAL_SCHEMES, *allow))
        context.on("request", lambda request: probe.requests.append(request.url))
        context.route(
            "**/*",
            lambda route: route.continue_() if route.request.url.startswith(probe.allowed) else route.abort(),
        )
        probe.page.on("console", lambda msg: probe.errors.append(msg.text) if msg.type == "error" else None)
        probe.page.on("pageerror", lambda exc: probe.errors.append(str(exc)))
        probe.page.goto(url, wait_until="load")
        return probe

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/`` at the project root: screenshots and PDFs kept after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
