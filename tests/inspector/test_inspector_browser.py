"""The inspector in a real headless Chromium: a request made with curl appears on the page, live."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    reason = "Debian's chromium and chromium-driver are needed (.ci/run installs them)"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

from selenium import webdriver  # noqa: E402 - only once the browser is known to exist
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def browser(request):
    options = webdriver.ChromeOptions()
    if getattr(request, "param", None) == "no-js":
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tempfile.mkdtemp()}",
    ):
        options.add_argument(flag)
    # The driver path is given explicitly: nothing is downloaded at run time.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_a_curl_request_appears_live_and_opens_on_click(start_serve, browser):
    url = start_serve("--port", "0").wait_ready()
    browser.get(f"{url}/_mock/")
    wait = WebDriverWait(browser, 10)
    wait.until(lambda d: d.find_element(By.ID, "status").text == "live")
    assert "app-workflow" in browser.find_element(By.ID, "apps").text

    subprocess.run(
        [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-X",
            "POST",
            f"{url}/v1/chat-messages",
            "-H",
            "Authorization: Bearer app-chat",
            "-H",
            "Content-Type: application/json",
            "-H",
            "X-Mock-Session: browser",
            "-d",
            '{"inputs": {}, "query": "seen live?", "user": "u"}',
        ],
        check=True,
        timeout=10,
    )
    row = wait.until(
        lambda d: next(
            (r for r in d.find_elements(By.CSS_SELECTOR, "#journal tr") if "/v1/chat-messages" in r.text), None
        )
    )
    assert "s:browser" in row.text and "200" in row.text
    row.click()
    wait.until(lambda d: "seen live?" in d.find_element(By.ID, "detail").text)
    assert '"scenario": "default"' in browser.find_element(By.ID, "detail").text


def test_an_unmatched_request_is_highlighted_with_its_reason(start_serve, browser):
    url = start_serve("--port", "0").wait_ready()
    browser.get(f"{url}/_mock/")
    wait = WebDriverWait(browser, 10)
    wait.until(lambda d: d.find_element(By.ID, "status").text == "live")
    subprocess.run(
        ["curl", "-s", "-o", "/dev/null", f"{url}/v1/no-such-route", "-H", "Authorization: Bearer app-chat"],
        check=True,
        timeout=10,
    )
    rows = (By.CSS_SELECTOR, "#journal tr")
    row = wait.until(lambda d: next((r for r in d.find_elements(*rows) if "/v1/no-such-route" in r.text), None))
    assert "unmatched" in row.get_attribute("class").split()
    assert row.find_element(By.CSS_SELECTOR, "td.why").text == "no such route"
    assert "needs JavaScript" not in browser.find_element(By.TAG_NAME, "body").text  # <noscript> stays hidden


def test_stubs_are_listed_beside_the_scenarios(start_serve, browser):
    url = start_serve("--port", "0").wait_ready()
    scenario = {"respond": {"error": {"code": "forbidden"}}}
    stub = json.dumps({"endpoint": "service.get_app_info", "scenario": scenario, "name": "shut"})
    # `curl -d` as a user types it: no JSON Content-Type, still read as JSON.
    subprocess.run(["curl", "-sf", "-o", "/dev/null", f"{url}/_mock/scenarios", "-d", stub], check=True, timeout=10)
    browser.get(f"{url}/_mock/")
    wait = WebDriverWait(browser, 10)
    wait.until(lambda d: "stub service.get_app_info = shut for all" in d.find_element(By.ID, "scenarios").text)


@pytest.mark.parametrize("browser", ["no-js"], indirect=True)
def test_without_javascript_the_page_says_where_the_data_is(start_serve, browser):
    url = start_serve("--port", "0").wait_ready()
    browser.get(f"{url}/_mock/")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "This inspector needs JavaScript" in body and "GET /_mock/journal" in body
    assert browser.find_element(By.ID, "status").text == "connecting…"  # no script ran
    browser.find_element(By.LINK_TEXT, "GET /_mock/journal").click()
    assert '"data"' in browser.find_element(By.TAG_NAME, "body").text
