"""The likes page in Debian's headless Chromium, through nginx and gunicorn."""

from pathlib import Path

import pytest

from tests.support.localservers import Gunicorn, Nginx

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("browser-stack")
    with Gunicorn(work / "gunicorn", work / "likes.db", workers=2) as app_server:
        with Nginx(work / "nginx", [f"127.0.0.1:{app_server.port}"]) as proxy:
            yield proxy.url


def make_browser(profile, javascript=True):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Headless as root in a container, and no background traffic: this machine
    # may only talk to 127.0.0.1.
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", f"--user-data-dir={profile}", "--window-size=900,700"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    # An explicit driver path: Selenium never tries to download one.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


@pytest.fixture
def browser(tmp_path):
    driver = make_browser(tmp_path / "profile")
    yield driver
    driver.quit()


def listed(driver):
    """The likes the page lists, read in one script: likes.js may redraw the
    list at any moment, and items read one by one could be gone halfway."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#likes li'), li => li.textContent.trim());")


def wait_until_listed(driver, text):
    """Wait for `text` in the list. likes.js redraws the list, and a form post
    loads a new page, so an item read a moment ago may already be gone."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: text in listed(d))


def add_like(driver, text):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    field = driver.find_element(By.ID, "like-input")
    field.clear()
    field.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "#like-form button").click()
    wait_until_listed(driver, text)
    WebDriverWait(driver, 10).until(EC.text_to_be_present_in_element((By.ID, "status"), "Added."))


def test_adding_a_like_with_the_form_lists_it(site, browser, tmp_path):
    browser.get(site + "/")
    assert browser.title == "AJAX ListMaker"
    logo = browser.find_element("id", "logo")
    assert browser.execute_script("return arguments[0].naturalWidth", logo) == 64
    add_like(browser, "fresh bread")
    assert listed(browser)[-1] == "fresh bread"
    # The like was stored, not just drawn: a new page load lists it too.
    browser.get(site + "/")
    assert "fresh bread" in listed(browser)
    browser.save_screenshot(str(tmp_path / "likes.png"))
    assert (tmp_path / "likes.png").stat().st_size > 1000


def test_html_in_a_like_shows_as_text(site, browser):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    evil = "<img src=x onerror=alert(1)>"
    browser.get(site + "/")
    add_like(browser, evil)
    for _ in range(2):  # drawn by likes.js, then rendered by the server template
        assert listed(browser)[-1] == evil
        assert browser.find_elements(By.CSS_SELECTOR, "#likes img") == []
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text
        browser.get(site + "/")


def test_the_page_works_without_javascript(site, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    driver = make_browser(tmp_path / "nojs", javascript=False)
    try:
        driver.get(site + "/")
        old_page = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.ID, "like-input").send_keys("no script needed")
        driver.find_element(By.CSS_SELECTOR, "#like-form button").click()
        # The address is "/" before and after the post, so wait for the old
        # page to be replaced rather than for the address to change.
        WebDriverWait(driver, 10).until(EC.staleness_of(old_page))
        wait_until_listed(driver, "no script needed")
        # The plain form post is answered with 303 to "/", which lists the like.
        assert driver.current_url.rstrip("/") == site
        assert listed(driver)[-1] == "no script needed"
        assert driver.find_element(By.ID, "status").text == ""
    finally:
        driver.quit()


def test_the_checkers_html_report_renders(browser, tmp_path):
    """The checker's --html page, opened from disk as a student opens it."""
    import subprocess
    import sys

    from selenium.webdriver.common.by import By

    course = Path(__file__).parent / "fixtures" / "course"
    report = tmp_path / "report.html"
    subprocess.run([sys.executable, "-m", "lab.check", "--course", str(course), "good", "mixed",
                    "--guest", "local://", "--html", str(report)], cwd=tmp_path, capture_output=True)
    browser.get(report.as_uri())
    assert browser.title == "Lab check: 7/12"
    cards = browser.find_elements(By.CSS_SELECTOR, "section.card")
    assert [c.find_element(By.TAG_NAME, "h2").text.splitlines()[0] for c in cards] == [
        "good: Everything passes", "mixed: A failure, a skip and a crash"]
    bars = [c.find_element(By.CSS_SELECTOR, ".bar span") for c in cards]
    widths = [b.size["width"] / b.find_element(By.XPATH, "..").size["width"] for b in bars]
    assert widths[0] == pytest.approx(1.0, abs=0.01)
    assert widths[1] == pytest.approx(1 / 6, abs=0.01)
    hint = cards[1].find_element(By.CSS_SELECTOR, ".hint").text
    assert hint == "hint: create it with `sudo touch /etc/lab-fixture-missing`"
    browser.save_screenshot(str(tmp_path / "report.png"))
