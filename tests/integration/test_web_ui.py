"""The web page in a real browser: upload -> wait -> search -> chat -> click a citation -> the player is
at the cited moment. Headless Debian Chromium driven by Selenium through chromedriver; the default
Qwen model answers (SmolLM2 does not cite). Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest

from tests.media import espeak_available

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng"),
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="needs Debian chromium + chromium-driver (scripts/install.sh --test installs them)"),
]


@pytest.fixture(scope="module")
def server(qwen_server):
    return qwen_server


@pytest.fixture(scope="module")
def video(briefing_video):
    return briefing_video


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--window-size=1400,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_script_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def wait_for(driver, js: str, timeout: float, what: str):
    """Poll a JavaScript expression until it is truthy; fail with `what` and a screenshot."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script("return " + js)
        if value:
            return value
        time.sleep(0.25)
    driver.save_screenshot(str(ARTIFACTS / "timeout.png"))
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def player_state(driver) -> dict:
    return driver.execute_script(
        "const p = document.getElementById('player');"
        "return {t: p.currentTime, start: +p.dataset.citedStart, end: +p.dataset.citedEnd, ready: p.readyState,"
        " file: p.dataset.fileId, error: p.error && p.error.code};")


def assert_player_inside_cited_range(driver):
    wait_for(driver, "(() => { const p = document.getElementById('player');"
                     " return p.readyState >= 1 && p.currentTime >= +p.dataset.citedStart - 0.05; })()",
             30, "the player to seek to the cited start")
    st = player_state(driver)
    assert st["error"] is None, st
    assert st["start"] - 0.05 <= st["t"] <= st["end"], st


def test_upload_search_chat_and_watch_the_cited_moment(server, video, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    path, windows = video
    d = browser
    d.get(f"{server.url}/ui/")
    wait_for(d, "document.getElementById('health').textContent.includes('segments')", 20, "the health line")

    # Create a collection, upload into it with metadata, watch it being processed.
    d.find_element(By.CSS_SELECTOR, "#new-collection input[name=name]").send_keys("briefings")
    # Cut at shot changes: one segment per scene, so a citation is a real sub-range of the video.
    Select(d.find_element(By.CSS_SELECTOR, "#new-collection select[name=segmentation]")).select_by_value("shots")
    d.find_element(By.CSS_SELECTOR, "#new-collection button").click()
    wait_for(d, "!document.getElementById('collection').hidden", 10, "the collection view")
    meta = d.find_element(By.ID, "upload-metadata")
    meta.clear()
    meta.send_keys('{"department": "ops"}')
    d.find_element(By.ID, "file-input").send_keys(str(path))
    wait_for(d, "document.querySelector('#videos tr[data-status=completed]')", 300, "the video to be indexed")
    d.save_screenshot(str(ARTIFACTS / "1-indexed.png"))
    assert "1 file" in d.find_element(By.CSS_SELECTOR, "#collections li.active").text
    file_id = d.find_element(By.CSS_SELECTOR, "#videos tr[data-status=completed]").get_attribute("data-file-id")
    assert httpx.get(f"{server.url}/v1/files/{file_id}").json()["metadata"] == {"department": "ops"}

    # Search with a metadata filter: hits are highlighted; clicking one plays that segment.
    d.find_element(By.CSS_SELECTOR, ".tabs button[data-tab=search]").click()
    d.find_element(By.ID, "add-filter").click()
    d.find_element(By.CSS_SELECTOR, "#filter-rows .fpath").send_keys("department")
    d.find_element(By.CSS_SELECTOR, "#filter-rows .fval").send_keys("ops")
    d.find_element(By.ID, "search-query").send_keys("forklift tyre pressure")
    d.find_element(By.CSS_SELECTOR, "#search-form button").click()
    wait_for(d, "document.querySelector('#search-results li.result mark')", 30, "highlighted search results")
    marks = [m.text.lower() for m in d.find_elements(By.CSS_SELECTOR, "#search-results li.result mark")]
    assert "forklift" in marks
    d.find_element(By.CSS_SELECTOR, "#search-results li.result").click()
    assert_player_inside_cited_range(d)
    d.save_screenshot(str(ARTIFACTS / "2-search.png"))

    # Chat: streamed answer with citation chips; a chip plays the cited moment.
    d.find_element(By.CSS_SELECTOR, ".tabs button[data-tab=chat]").click()
    d.find_element(By.ID, "chat-input").send_keys("How often must forklift drivers check the tyre pressure?")
    d.find_element(By.CSS_SELECTOR, "#chat-form button[type=submit]").click()
    wait_for(d, "document.querySelector('.msg.assistant[data-done=true]')", 240, "the streamed answer")
    d.save_screenshot(str(ARTIFACTS / "3-chat.png"))
    answer = d.find_element(By.CSS_SELECTOR, ".msg.assistant .text").text
    assert "monday" in answer.lower(), answer
    chips = d.find_elements(By.CSS_SELECTOR, ".msg.assistant .chip")
    assert chips, f"no citation chips for: {answer}"
    chip = chips[0]
    start, end = float(chip.get_attribute("data-start")), float(chip.get_attribute("data-end"))
    forklift = windows[1]
    assert start < forklift[1] and end > forklift[0], (start, end, forklift)
    assert end - start < 8 and start > 0, "the citation is one scene, not the whole video"
    assert "warehouse_briefing.mp4 @ " in chip.text
    chip.click()
    assert_player_inside_cited_range(d)
    st = player_state(d)
    assert (st["start"], st["end"]) == (start, end) and st["file"] == file_id
    d.save_screenshot(str(ARTIFACTS / "4-citation-playing.png"))

    # The per-video transcript: click a line to seek there.
    wait_for(d, "document.querySelector('#transcript .line')", 20, "the transcript")
    lines = d.find_elements(By.CSS_SELECTOR, "#transcript .line")
    assert any("north exit" in ln.text.lower() for ln in lines)
    target = next(ln for ln in lines if "north exit" in ln.text.lower())
    target.click()
    assert_player_inside_cited_range(d)
    st = player_state(d)
    assert st["start"] >= windows[2][0] - 0.5 and st["t"] >= windows[2][0] - 0.5, (st, windows)


def test_media_is_served_with_byte_ranges(server, video):
    path, _ = video
    with httpx.Client(base_url=server.url) as c:
        f = c.post("/v1/files", files={"file": (path.name, path.read_bytes(), "video/mp4")}).json()
        full = c.get(f"/v1/files/{f['id']}/media")
        assert full.status_code == 200 and full.content == path.read_bytes()
        assert full.headers["content-type"] == "video/mp4" and full.headers.get("accept-ranges") == "bytes"
        part = c.get(f"/v1/files/{f['id']}/media", headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == path.read_bytes()[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{path.stat().st_size}"
        assert c.get("/v1/files/nope/media").status_code == 404
