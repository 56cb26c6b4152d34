"""The departments' web page in Debian's headless chromium, as a Chinese user sees it: Chinese by default, CJK
glyphs rendered (not boxes), a week picker with dates and free/full weeks, plain-language errors naming the
field, no Cancel on a refused request; English by the browser's language or the page's switch. Screenshots go
to the test's temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browserkit import assert_cjk_renders, chromium, cjk_glyphs, no_cjk_fontconfig
from slotkit import token, write_tiny


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def _sign_in(driver: Any, url: str, secret: str, who: str) -> Any:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 30)
    driver.get(url)
    driver.find_element(_by().ID, "token").send_keys(secret)
    driver.find_element(_by().ID, "save-token").click()
    wait.until(ec.text_to_be_present_in_element((_by().ID, "who"), who))
    # the pickers are refilled with free/full marks once the calendar has come back
    wait.until(lambda d: "·" in d.find_element(_by().CSS_SELECTOR, "#earliest option:last-child").text)
    return wait


def _request(driver: Any, wait: Any, systems: str, earliest: str, latest: str, expect: str,
             volume: str = "5 TB") -> str:  # fmt: skip
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select

    by = _by()
    driver.find_element(by.ID, "systems").clear()
    driver.find_element(by.ID, "systems").send_keys(systems)
    Select(driver.find_element(by.ID, "earliest")).select_by_value(earliest)
    Select(driver.find_element(by.ID, "latest")).select_by_value(latest)
    driver.find_element(by.ID, "volume").clear()
    driver.find_element(by.ID, "volume").send_keys(volume)
    driver.execute_script("document.getElementById('result').textContent = ''")
    driver.find_element(by.ID, "submit").click()
    wait.until(ec.text_to_be_present_in_element((by.ID, "result"), expect))
    text: str = driver.find_element(by.ID, "result").text
    return text


@pytest.mark.browser
def test_page_in_chinese_grants_refuses_and_renders_cjk(tmp_path: Path, start_server: Any) -> None:
    # Tiny cloud: 2 systems a week; 2027-W06 is blacked out (春节), so asking for W06–W08 grants W07.
    from selenium.webdriver.support import expected_conditions as ec

    data = write_tiny(tmp_path / "data")
    db = f"sqlite:///{tmp_path / 'web.sqlite'}"
    secret = token(db, data, "--department", "AAA")
    server = start_server(db, data)
    by = _by()
    with chromium(tmp_path, accept_language="zh-CN,zh") as driver:
        wait = _sign_in(driver, server.url + "/", secret, "部门 AAA")
        assert driver.find_element(by.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
        assert driver.find_element(by.TAG_NAME, "h1").text == "迁移窗口申请"
        assert_cjk_renders(driver, driver.find_element(by.TAG_NAME, "h1"))
        assert_cjk_renders(driver, driver.find_element(by.ID, "intro"))

        # The week picker shows each week's dates, the blackout by name, and free weeks.
        options = {
            o.get_attribute("value"): o for o in driver.find_elements(by.CSS_SELECTOR, "#earliest option")
        }
        assert options["2027-W12"].text == "2027-W12 · 3月22日–3月28日 · 空位 2 / 2"
        assert options["2027-W06"].text == "2027-W06 · 2月8日–2月14日 · 封网：春节"
        assert options["2027-W06"].get_attribute("class") == "blackout"

        granted = _request(driver, wait, "AAA-1", "2027-W06", "2027-W08", "已分配")
        assert granted == "已分配：2027-W07（2月15日–2月21日），申请编号 #1。"
        # Two systems fill 2027-W09: the picker and the calendar show it full.
        _request(driver, wait, "AAA-2, AAA-3", "2027-W09", "2027-W09", "已分配")
        wait.until(
            lambda d: "已满" in d.find_element(by.CSS_SELECTOR, "#earliest option[value='2027-W09']").text
        )
        assert "full" in driver.find_element(by.ID, "week-2027-W09").get_attribute("class")
        assert "free" in driver.find_element(by.ID, "week-2027-W12").get_attribute("class")
        own = driver.find_element(by.ID, "week-2027-W07")
        assert "own" in own.get_attribute("class") and "#1" in own.text and "2月15日–2月21日" in own.text

        # The same system again is refused, in plain words and without a doubled "refused".
        refused = _request(driver, wait, "AAA-1", "2027-W07", "2027-W08", "未获分配")
        assert refused.startswith(
            "未获分配：系统已有迁移窗口 — system AAA-1 already holds a slot in 2027-W07"
        )
        assert "refused" not in refused.lower()
        wait.until(ec.presence_of_element_located((by.ID, "request-3")))
        rows = {r.get_attribute("id"): r for r in driver.find_elements(by.CSS_SELECTOR, "#requests tbody tr")}
        assert "已分配" in rows["request-1"].text and rows["request-1"].find_elements(by.TAG_NAME, "button")
        assert "未获分配" in rows["request-3"].text
        assert rows["request-3"].find_elements(by.TAG_NAME, "button") == []  # nothing to cancel

        # Bad input: the error names the field as the form labels it, in plain words, never pydantic's text.
        wrong = _request(
            driver, wait, "AAA-2", "2027-W10", "2027-W11", "请更正", volume="5 TB" + " " * 40 + "x"
        )
        assert "需迁移的数据量：请填写数量和单位，例如 40 TB" in wrong and "String should" not in wrong
        order = _request(driver, wait, "AAA-2", "2027-W11", "2027-W10", "请更正")
        assert "最晚周：最晚周早于最早周" in order
        driver.save_screenshot(str(tmp_path / "page-zh-CN.png"))
        assert_cjk_renders(driver, driver.find_element(by.ID, "calendar"))


@pytest.mark.browser
def test_page_in_english_by_the_browser_language_and_by_the_switch(tmp_path: Path, start_server: Any) -> None:
    data = write_tiny(tmp_path / "data")
    db = f"sqlite:///{tmp_path / 'web.sqlite'}"
    secret = token(db, data, "--department", "AAA")
    server = start_server(db, data)
    by = _by()
    with chromium(tmp_path, accept_language="en-US,en") as driver:
        wait = _sign_in(driver, server.url + "/", secret, "department AAA")
        assert driver.find_element(by.TAG_NAME, "h1").text == "Migration slot requests"
        granted = _request(driver, wait, "AAA-1", "2027-W06", "2027-W08", "Granted")
        assert granted == "Granted: week 2027-W07 (Feb 15–Feb 21), request #1."
        driver.save_screenshot(str(tmp_path / "page-en.png"))
        # The switch on the page: Chinese, whatever the browser asks for.
        driver.find_element(by.CSS_SELECTOR, "nav.lang a[hreflang='zh-CN']").click()
        wait.until(lambda d: d.find_element(by.TAG_NAME, "h1").text == "迁移窗口申请")
        assert driver.find_element(by.TAG_NAME, "html").get_attribute("lang") == "zh-CN"


@pytest.mark.browser
def test_glyph_check_sees_boxes_on_a_machine_without_a_cjk_font(tmp_path: Path, start_server: Any) -> None:
    """The same page in a chromium whose fontconfig has DejaVu only: the check must see the boxes (this is
    what the page looked like before fonts-noto-cjk was installed)."""
    data = write_tiny(tmp_path / "data")
    server = start_server(f"sqlite:///{tmp_path / 'web.sqlite'}", data)
    by = _by()
    with chromium(tmp_path, env=no_cjk_fontconfig(tmp_path)) as driver:
        driver.get(server.url + "/")
        found = cjk_glyphs(driver, driver.find_element(by.TAG_NAME, "h1"))
        driver.save_screenshot(str(tmp_path / "page-without-cjk-font.png"))
    assert found["chars"] == "迁移窗口申请"
    assert found["boxes"] == found["chars"] and found["distinct"] == 1
    with (
        pytest.raises(AssertionError, match="render as missing-glyph boxes"),
        chromium(tmp_path, env=no_cjk_fontconfig(tmp_path)) as driver,
    ):
        driver.get(server.url + "/")
        assert_cjk_renders(driver, driver.find_element(by.TAG_NAME, "h1"))


@pytest.mark.parametrize(
    ("query", "header", "lang", "h1"),
    [
        ("", None, "zh-CN", "迁移窗口申请"),
        ("", "en-US,en;q=0.9", "en", "Migration slot requests"),
        ("?lang=zh-CN", "en-US,en;q=0.9", "zh-CN", "迁移窗口申请"),
        ("?lang=en", "zh-CN", "en", "Migration slot requests"),
    ],
)
def test_page_language_from_the_switch_or_the_browser(
    tiny_dir: Path, tmp_path: Path, query: str, header: str | None, lang: str, h1: str
) -> None:
    from fastapi.testclient import TestClient

    from egov.source import load_source
    from slots.api import create_app
    from slots.bandwidth import RoutedPaths
    from slots.ledger import Ledger

    url = f"sqlite:///{tmp_path / 'page.sqlite'}"
    ledger = Ledger(url, load_source(tiny_dir), paths=RoutedPaths(tiny_dir))
    app = create_app(ledger)
    response = TestClient(app).get("/" + query, headers={"Accept-Language": header} if header else {})
    assert response.status_code == 200
    assert response.headers["content-language"] == lang and "Accept-Language" in response.headers["vary"]
    assert f'<html lang="{lang}">' in response.text and f"<h1>{h1}</h1>" in response.text
