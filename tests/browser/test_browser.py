"""The likes page in Debian's headless Chromium, through nginx and gunicorn."""

from pathlib import Path

import pytest

from tests.support.localservers import Gunicorn, Nginx

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

    course = Path(__file__).parent.parent / "fixtures" / "course"
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


def report_page(tmp_path, results):
    """The HTML report of a results dictionary, written where a browser opens it from disk."""
    from lab.report.html import to_html

    page = tmp_path / "report.html"
    page.write_text(to_html(results), encoding="utf-8")
    return page.as_uri()


def a_run(description, **check):
    """A results dictionary of one step with one failed check."""
    entry = {"name": "proxies", "step": "web", "description": description, "status": "failed", "passed": False,
             "points": 0, "max_points": 3, "rationale": "expected HTTP 200 from http://127.0.0.1:8500/likes, got 502",
             "hint": "is the app running?", "expected": 200, "actual": 502, "log": [], "duration": 0.5,
             "visibility": "visible", **check}
    return {"format": 1, "checked_at": "2024-03-05T14:07:09+01:00", "score": 1, "max_score": 4, "exit_code": 1,
            "guest": "vagrant@127.0.0.1:2222", "fault": None,
            "steps": [{"id": "web", "title": "The web server", "score": 1, "max_score": 4, "kit_solved": None,
                       "kit_policy": "flag", "checks": [
                           {**entry, "name": "ok", "description": "nginx is installed", "status": "passed",
                            "passed": True, "points": 1, "max_points": 1, "rationale": None, "hint": None,
                            "expected": None, "actual": None}, entry]}]}


def test_a_long_description_keeps_its_points_on_its_own_line(browser, tmp_path):
    from selenium.webdriver.common.by import By

    long = "nginx passes every request for the site on to the app servers behind it, " * 3
    browser.get(report_page(tmp_path, a_run(long.strip())))
    item = browser.find_elements(By.CSS_SELECTOR, "li")[1]
    mark, points, why = (item.find_element(By.CSS_SELECTOR, css).rect for css in (".mark", ".points", ".why"))
    assert why["y"] - mark["y"] > 2 * points["height"]  # the description does wrap, over several lines
    assert abs(points["y"] - mark["y"]) < points["height"] / 2  # the points stay on its first line
    assert points["y"] + points["height"] <= why["y"]  # above the rationale, not on its line
    assert points["x"] + points["width"] <= item.rect["x"] + item.rect["width"] + 1
    assert item.find_element(By.CSS_SELECTOR, ".points").text == "0/3 · failed"
    values = item.find_element(By.CSS_SELECTOR, ".values").text.splitlines()
    assert values == ["expected", "200", "actual", "502"] or values == ["expected 200", "actual 502"]


def colour(css):
    """#rrggbb of a computed rgb(...) colour."""
    import re

    r, g, b = (int(n) for n in re.findall(r"\d+", css)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def test_the_report_is_readable_in_colour_as_wcag_aa_asks(browser, tmp_path):
    """The colours Chromium really paints: every mark against its card, the bar's fill against its track."""
    from selenium.webdriver.common.by import By

    from lab.engine.results import ALL_STATUSES
    from tests.support.wcag import contrast

    results = a_run("nginx passes / to the app")
    results["steps"][0]["checks"] = [{**results["steps"][0]["checks"][1], "name": f"c{n}", "status": status}
                                     for n, status in enumerate(ALL_STATUSES)]
    browser.get(report_page(tmp_path, results))
    card = colour(browser.find_element(By.CSS_SELECTOR, ".card").value_of_css_property("background-color"))
    marks = {item.get_attribute("class"): colour(item.find_element(By.CSS_SELECTOR, ".mark")
                                                 .value_of_css_property("color"))
             for item in browser.find_elements(By.CSS_SELECTOR, "li")}
    assert len(marks) == len(ALL_STATUSES)
    assert {name: round(contrast(c, card), 2) for name, c in marks.items() if contrast(c, card) < 4.5} == {}
    fill = colour(browser.find_element(By.CSS_SELECTOR, ".bar span").value_of_css_property("background-color"))
    track = colour(browser.find_element(By.CSS_SELECTOR, ".bar").value_of_css_property("background-color"))
    assert contrast(fill, track) >= 3


def pdf_fill_colours(pdf):
    """The fill colours ("r g b rg") a PDF's content streams paint with, as #rrggbb."""
    import re
    import zlib

    found = set()
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            content = zlib.decompress(stream.group(1))
        except zlib.error:  # an image or a font, not drawing
            continue
        for rgb in re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) rg", content):
            found.add("#" + "".join(f"{round(float(c) * 255):02x}" for c in rgb))
    return found


def test_printed_the_bars_keep_their_fill_and_cards_do_not_split(browser, tmp_path):
    import base64

    from lab.report.statuses import STATUSES

    results = a_run("nginx passes / to the app")
    results["steps"][0]["checks"] = results["steps"][0]["checks"][1:]  # no passed mark: green is the bar's alone
    results["steps"][0]["score"] = 2
    browser.get(report_page(tmp_path, results))
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    style = browser.execute_script(
        "const s = getComputedStyle(document.querySelector('.bar span')), c = getComputedStyle("
        "document.querySelector('.card')), b = getComputedStyle(document.querySelector('.bar'));"
        "return [s.printColorAdjust || s.webkitPrintColorAdjust, c.breakInside, b.borderTopStyle];")
    assert style == ["exact", "avoid", "solid"]
    # Printed as browsers print by default, without background graphics: the bar is on paper all the same.
    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})["data"])
    colours = pdf_fill_colours(pdf)
    assert STATUSES["passed"].css in colours, colours  # the fill
    assert "#e3e7eb" in colours, colours  # the track
