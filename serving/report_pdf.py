"""Print an HTML page (the weekly report) to PDF with headless Chromium.

Chromium lays the page out with the page's own print CSS (A4) and embeds the system's CJK fonts
(fonts-noto-cjk) in the PDF, so the PDF looks like the printed page. It runs with a throw-away
profile and with every background network feature off: nothing is fetched.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Final

from features.errors import DisputeRiskError

logger = logging.getLogger(__name__)

CHROMIUM_NAMES: Final = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT: Final = (
    "run `make browser-deps` (as root) or `apt-get install chromium fonts-noto-cjk fonts-wqy-microhei`"
)
CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium(chromium: str | Path | None = None) -> str:
    """The Chromium executable: ``chromium`` when given, else the first of ``CHROMIUM_NAMES`` on PATH."""
    if chromium is not None:
        found = shutil.which(str(chromium))
        if found is None:
            raise DisputeRiskError(f"chromium must be an executable, got {str(chromium)!r}; {INSTALL_HINT}")
        return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise DisputeRiskError(
        f"printing to PDF needs Chromium, none of {list(CHROMIUM_NAMES)} is on PATH; {INSTALL_HINT}"
    )


def html_to_pdf(
    html_path: str | Path, pdf_path: str | Path, *, chromium: str | Path | None = None, timeout: float = 120.0
) -> Path:
    """Print ``html_path`` to ``pdf_path`` (page size and margins from the page's ``@page`` CSS,
    no header or footer) and return ``pdf_path``; a DisputeRiskError when Chromium is missing,
    fails or takes longer than ``timeout`` seconds."""
    source = Path(html_path).resolve()
    if not source.is_file():
        raise DisputeRiskError(f"html_path must be an existing file, got {str(html_path)!r}")
    target = Path(pdf_path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    executable = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="report-pdf-") as profile:
        command = [
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={target}",
            "--no-pdf-header-footer",
            source.as_uri(),
        ]
        # Its own process group, so that a timeout ends Chromium's helper processes too.
        with subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
        ) as process:
            try:
                _, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
                raise DisputeRiskError(
                    f"Chromium must print within {timeout:g} s, timed out on {source}"
                ) from None
    if process.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        tail = (stderr or "").strip().splitlines()[-3:]
        raise DisputeRiskError(
            f"Chromium must print {source} to {target}, it exited with {process.returncode}: {' | '.join(tail)}"
        )
    logger.info("printed %s to %s (%d bytes)", source.name, target, target.stat().st_size)
    return target
