"""Debian's headless Chromium, driven by Selenium through Debian's chromedriver.

Nothing is downloaded at test time: the browser and its driver are the system packages that
`scripts/install_browser.sh` installs, and Selenium is handed both paths, so its own driver
manager never runs. The browser may resolve no host name but 127.0.0.1, and its background
services are off: whatever a page asks for, nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = "install Debian's chromium and chromium-driver: bash scripts/install_browser.sh"
WINDOW = "1440,1200"
PAGE_TIMEOUT = 30
# As this machine's documentation starts Chromium as root without a display or a network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    f"--window-size={WINDOW}",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


def require_browser() -> None:
    """Fail with what to install when the system browser or its driver is missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    assert not missing, f"{', '.join(missing)} not found: {INSTALL_HINT}"


@contextmanager
def headless_chromium(profile: Path, log_path: Path) -> Iterator[WebDriver]:
    """A fresh headless Chromium with its own empty profile folder; always quit afterwards."""
    require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(log_path))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(PAGE_TIMEOUT)
        yield driver
    finally:
        driver.quit()


def page_text(driver: WebDriver) -> str:
    """Everything the page shows as text, as a person reads it."""
    return str(driver.find_element(By.TAG_NAME, "body").text)


def wait_for_texts(driver: WebDriver, texts: list[str], timeout: float = PAGE_TIMEOUT) -> str:
    """The page's text once every one of `texts` is shown; else fail naming what is missing."""
    try:
        WebDriverWait(driver, timeout).until(
            lambda page: all(text in page_text(page) for text in texts)
        )
    except TimeoutException:
        shown = page_text(driver)
        missing = [text for text in texts if text not in shown]
        raise AssertionError(f"{driver.current_url} never showed {missing}:\n{shown}") from None
    return page_text(driver)


def wait_for_element(
    driver: WebDriver, css_selector: str, timeout: float = PAGE_TIMEOUT
) -> WebElement:
    """The first element matching `css_selector` that is displayed; else fail naming it."""

    def displayed(page: WebDriver) -> list[WebElement]:
        return [e for e in page.find_elements(By.CSS_SELECTOR, css_selector) if e.is_displayed()]

    try:
        found = WebDriverWait(driver, timeout).until(displayed)
    except TimeoutException:
        raise AssertionError(f"{driver.current_url} never showed {css_selector}") from None
    return found[0]


def screenshot(driver: WebDriver, path: Path) -> Path:
    """Save what the window shows as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    return path
