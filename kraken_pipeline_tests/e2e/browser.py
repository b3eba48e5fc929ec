"""Debian's headless Chromium, driven by Selenium through Debian's chromedriver.

Nothing is downloaded at test time: the browser and its driver are the system packages that
`scripts/install_browser.sh` installs, and Selenium is handed both paths, so its own driver
manager never runs. The browser may resolve no host name but 127.0.0.1, and its background
services are off: whatever a page asks for, nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL_HINT = "install Debian's chromium and chromium-driver: bash scripts/install_browser.sh"
WINDOW = "1440,1200"
# A window whose page area is 1280x800 (headless Chromium keeps 143 px for its own frame): the
# size of the README's screenshots.
README_WINDOW = "1280,943"
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
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


def require_browser() -> None:
    """Fail with what to install when the system browser or its driver is missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    assert not missing, f"{', '.join(missing)} not found: {INSTALL_HINT}"


@contextmanager
def headless_chromium(profile: Path, log_path: Path, window: str = WINDOW) -> Iterator[WebDriver]:
    """A fresh headless Chromium with its own empty profile folder; always quit afterwards."""
    require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--window-size={window}", f"--user-data-dir={profile}"):
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


def text_when(
    driver: WebDriver, shown: Callable[[str], bool], timeout: float = PAGE_TIMEOUT
) -> str:
    """The page's text once `shown` holds for it, or as it is after `timeout` seconds: for a
    test that asserts on what the page shows rather than failing here."""
    with suppress(TimeoutException):
        WebDriverWait(driver, timeout).until(lambda page: shown(page_text(page)))
    return page_text(driver)


def buttons(driver: WebDriver, label: str, within: str = "body") -> list[WebElement]:
    """The displayed buttons (menu entries included) inside `within` labelled exactly `label`."""
    return [
        found
        for scope in driver.find_elements(By.CSS_SELECTOR, within)
        for found in scope.find_elements(By.CSS_SELECTOR, "button, [role='menuitem']")
        if found.is_displayed() and found.text.strip() == label
    ]


def click(
    driver: WebDriver, label: str, within: str = "body", timeout: float = PAGE_TIMEOUT
) -> None:
    """Press the button labelled `label` inside `within` once it is shown and enabled; the page
    may redraw it meanwhile, so it is looked up again until the press lands."""

    def pressed(page: WebDriver) -> bool:
        for found in buttons(page, label, within):
            if found.is_enabled():
                found.click()
                return True
        return False

    wait = WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))
    try:
        wait.until(pressed)
    except TimeoutException:
        raise AssertionError(f"{driver.current_url} never offered {label!r} to press") from None


def set_code_editor(driver: WebDriver, container_css: str, text: str) -> None:
    """Replace the text of the CodeMirror editor inside `container_css` through its own API: the
    page hears the change as it hears typing, while keystrokes would land wherever the editor's
    cursor and auto-indent put them."""
    editor = wait_for_element(driver, f"{container_css} .CodeMirror")
    driver.execute_script("arguments[0].CodeMirror.setValue(arguments[1])", editor, text)


def screenshot(driver: WebDriver, path: Path) -> Path:
    """Save what the window shows as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    return path
