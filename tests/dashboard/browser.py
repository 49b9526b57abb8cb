"""Headless Chromium for the dashboard's browser tests, driven by Selenium.

Debian's ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (``apt-get install chromium
chromium-driver``), or those named by ``RNNLAB_CHROMIUM`` / ``RNNLAB_CHROMEDRIVER``; never a
driver manager, which would reach for the network. Without them (or without selenium) the
browser tests skip, saying why.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM = os.environ.get("RNNLAB_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RNNLAB_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(os.environ.get("RNNLAB_SCREENSHOTS", tempfile.gettempdir())) / "rnnlab_shots"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-dev-shm-usage", "--window-size=1400,1800",
)  # fmt: skip


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'rnnlab[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"no {path} (Debian: apt-get install chromium chromium-driver)"
    return None


def start_browser(profile: Path):
    """A headless Chromium with its own profile folder, logging the console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def console_errors(driver) -> list[str]:
    """The page's console errors (and uncaught exceptions) since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def save_screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    driver.save_screenshot(str(path))
    keep = os.environ.get("RNNLAB_KEEP_SHOTS")  # a folder to copy them to (docs, a review)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path
