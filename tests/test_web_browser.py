"""The desk as a grid worker uses it: `cardgen serve` started as a command, the page driven in
Debian's Chromium by Playwright at 1366×768, keyboard first. Also what only a real server
shows: the address it prints, twenty cards asked for at once, and its log.

Set CARDGEN_SCREENSHOTS=DIR to keep a screenshot of each step."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import DATE, FEMALE_ID, VALID_ID, WRONG_CHECK_ID, household_rows, write_csv
from tests.test_web import HOSTILE_NAME, write_register

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
SCREEN = {"width": 1366, "height": 768}


@dataclass
class Server:
    address: str
    process: subprocess.Popen[str]
    log: Path

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


def start_server(folder: Path, log: Path, *options: str) -> Server:
    """`cardgen serve` as a user starts it, on a free port; the address it prints."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "cardgen", "serve", str(folder), "--port", "0", "--date", DATE,
         *options], stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert found, (line, log.read_text())
    assert time.monotonic() - started < 15  # about a second unloaded; CI machines are shared
    return Server(found.group(0), process, log)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("served")
    write_register(folder)
    server = start_server(folder, folder.parent / "served.log")
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=SCREEN, locale="zh-CN")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: dialogs.append(message.text)
            if message.type == "error" else None)
    yield page
    context.close()
    assert dialogs == []  # no script of the data's ran, no error in the console


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("CARDGEN_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def test_search_preview_and_print_with_the_keyboard(page: Page, server: Server,
                                                    tmp_path: Path) -> None:
    page.goto(server.address)
    assert page.locator("#q").evaluate("input => input === document.activeElement")
    page.keyboard.type("阳光花园")
    page.keyboard.press("Enter")
    page.locator("#search-status").filter(has_text="找到 3 户").wait_for()
    page.keyboard.press("Tab")  # 查找
    page.keyboard.press("Tab")  # the first household found
    assert page.evaluate("document.activeElement.textContent").startswith("橙H001")
    page.keyboard.press("Enter")
    preview = page.get_by_role("img", name="H001 户卡预览（常态）")
    preview.wait_for()
    assert preview.evaluate("image => image.naturalWidth") == 794
    shot(page, "search")
    page.get_by_label("应急（色标在顶部）").check()
    page.get_by_role("img", name="H001 户卡预览（应急）").wait_for()

    link = page.get_by_role("link", name="应急打印")
    with page.context.expect_page() as opened:
        link.click()
    pdf = page.context.request.get(opened.value.url)
    assert pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "card.pdf").write_bytes(pdf.body())
    from tests.conftest import pdftotext

    text = pdftotext(tmp_path / "card.pdf")
    assert "H001" in text and "张秀英" in text and "应急" in text


def test_markup_in_the_data_stays_text(page: Page, server: Server) -> None:
    page.goto(server.address)
    page.get_by_label("户号、姓名或地址").fill("onerror")
    page.get_by_role("button", name="查找").click()
    result = page.locator("#results .result")
    result.wait_for()
    assert HOSTILE_NAME in result.inner_text()
    assert page.locator("#results img, #results script").count() == 0
    result.click()
    page.locator("#preview-box:not([hidden])").wait_for()
    shot(page, "markup")


def test_a_broken_spreadsheet_shows_its_problems(page: Page, server: Server,
                                                 tmp_path: Path) -> None:
    broken = write_csv(tmp_path / "第一网格.csv",
                       household_rows("B1", 身份证号=WRONG_CHECK_ID, 联系电话="123"))
    page.goto(server.address)
    page.get_by_role("tab", name="检查表格").click()
    page.get_by_label("选择文件").set_input_files(broken)
    page.get_by_role("button", name="检查").click()
    table = page.get_by_role("table", name="问题列表")
    table.wait_for()
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    first = rows.nth(0).locator("td").all_inner_texts()
    assert first[:5] == ["错误", "", "第 2 行", "身份证号", "**************009X"]
    said = page.locator("#check-status").inner_text()
    assert "第一网格.csv：1 户，2 人；1 个错误，1 个警告" in said
    assert page.locator("#check-print").is_hidden()
    shot(page, "check")


def test_a_grid_ledger_with_its_progress(page: Page, server: Server) -> None:
    page.goto(server.address)
    page.get_by_role("tab", name="台账与批量打印").click()
    page.get_by_label("网格", exact=True).select_option("第4网格")
    page.get_by_role("button", name="打印台账").click()
    page.get_by_role("progressbar", name="台账 · 第4网格进度").wait_for()
    opened = page.get_by_role("link", name="打开")
    opened.wait_for(timeout=120_000)
    shot(page, "ledger")
    answer = page.context.request.get(server.address + (opened.get_attribute("href") or "/")[1:])
    assert answer.ok and answer.body().startswith(b"%PDF")


def test_a_household_new_since_the_book(page: Page, tmp_path: Path) -> None:
    """Served with --book: a household that arrived since the book was printed has no number
    in it yet. It is listed and shown as 新增（未编入台账）, its preview is drawn, the page says
    that the update packet gives it its number and card, and its print buttons are not
    offered; a household of the book still prints."""
    from click.testing import CliRunner

    from cardgen.cli.commands import cli
    from tests.conftest import pdftotext

    folder = tmp_path / "served"
    path = write_register(folder, [*household_rows("H001", 地址="阳光花园1号"),
                                   *household_rows("H002", 地址="阳光花园2号")])
    books = tmp_path / "books"
    printed = CliRunner().invoke(cli, ["ledger", str(path), "-o", str(books), "--date", DATE,
                                       "--quiet"])
    assert printed.exit_code == 0, printed.output
    write_csv(path, [*household_rows("H001", 地址="阳光花园1号"),
                     *household_rows("H002", 地址="阳光花园2号"),
                     *household_rows("H003", 地址="阳光花园3号", 姓名="新住户")])
    server = start_server(folder, tmp_path / "book.log", "--book", str(books))
    try:
        page.goto(server.address)
        page.get_by_label("户号、姓名或地址").fill("阳光花园")
        page.keyboard.press("Enter")
        page.locator("#search-status").filter(has_text="找到 3 户").wait_for()
        results = page.locator("#results .result")
        assert "编号 001" in results.nth(0).inner_text()
        new = results.filter(has_text="H003")
        assert "新增（未编入台账）" in new.inner_text() and "编号" not in new.inner_text()
        new.click()
        page.get_by_role("img", name="H003 户卡预览（常态）").wait_for()
        assert page.locator("#card-title").inner_text().endswith("H003 · 新增（未编入台账）")
        note = page.locator("#card-note")
        note.wait_for()
        said = note.inner_text()
        assert "还没有编入台账" in said and "“台账与批量打印”页点“更新包”" in said
        assert "更新后编号 003" in said
        for name in ("打印", "应急打印", "贴纸"):
            assert page.get_by_role("link", name=name, exact=True).count() == 0, name
        assert page.get_by_role("button", name="放大预览").is_visible()
        shot(page, "new-household")
        # its card's address, opened anyway, says why in words, not JSON
        tab = page.context.new_page()
        tab.goto(server.address + "api/households/H003/card.pdf")
        text = tab.locator("body").inner_text()
        assert "无法打开这份文件" in text and "更新包" in text
        for hidden in ("{", "book.not_in_book", str(books), "cardgen update"):
            assert hidden not in text, hidden
        tab.close()
        page.get_by_role("button", name="去“台账与批量打印”").click()
        assert page.get_by_role("tab", name="台账与批量打印").get_attribute(
            "aria-selected") == "true"
        assert page.get_by_role("button", name="更新包").is_enabled()
        # a household of the book prints as before
        page.get_by_role("tab", name="查找户卡").click()
        results.filter(has_text="H002").click()
        page.get_by_role("img", name="H002 户卡预览（常态）").wait_for()
        assert page.locator("#card-note").is_hidden()
        assert page.locator("#card-title").inner_text().endswith("H002 · 编号 002")
        link = page.get_by_role("link", name="打印", exact=True)
        with page.context.expect_page() as opened:
            link.click()
        pdf = page.context.request.get(opened.value.url)
        assert pdf.headers["content-type"] == "application/pdf"
        (tmp_path / "H002.pdf").write_bytes(pdf.body())
        assert "阳光花园2号" in pdftotext(tmp_path / "H002.pdf")
        shot(page, "book-household")
    finally:
        assert server.stop() == 0


def test_twenty_cards_at_once(server: Server) -> None:
    ids = ["H001", "H002", "H004"] * 7

    def fetch(household: str) -> tuple[int, bytes]:
        with urllib.request.urlopen(f"{server.address}api/households/{household}/card.pdf",
                                    timeout=120) as answer:
            return answer.status, answer.read()
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(fetch, ids[:20]))
    assert all(status == 200 and data.startswith(b"%PDF") for status, data in answers)


def test_the_token_flow(browser: Browser, tmp_path: Path) -> None:
    folder = tmp_path / "office"
    write_register(folder)
    token = tmp_path / "token"
    token.write_text("office-token-0123456789\n")
    server = start_server(folder, tmp_path / "office.log", "--token-file", str(token))
    try:
        context = browser.new_context(viewport=SCREEN, locale="zh-CN")
        page = context.new_page()
        page.goto(server.address)
        assert page.url.endswith("/login")
        page.get_by_label("访问口令").fill("wrong guess")
        page.keyboard.press("Enter")
        page.locator("#login-status").filter(has_text="口令不对").wait_for()
        shot(page, "login")
        page.get_by_label("访问口令").fill("office-token-0123456789")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(server.address)
        page.get_by_label("户号、姓名或地址").fill("H001")
        page.keyboard.press("Enter")
        page.get_by_role("img", name="H001 户卡预览（常态）").wait_for()
        page.get_by_role("button", name="退出登录").click()
        page.wait_for_url(re.compile(r"/login$"))
        context.close()
    finally:
        assert server.stop() == 0


def test_the_log_holds_no_names_or_id_numbers(server: Server) -> None:
    """Last in this module: everything above went through this server's log too."""
    page = urllib.request.urlopen(server.address, timeout=30)
    cookie = page.headers["set-cookie"].split(";")[0]
    for query in ("张秀英", VALID_ID):
        urllib.request.urlopen(urllib.request.Request(
            f"{server.address}api/search", data=f'{{"q": "{query}"}}'.encode(), headers={
                "Content-Type": "application/json", "Cookie": cookie,
                "X-CSRF-Token": cookie.split("=", 1)[1]}), timeout=30).read()
    time.sleep(0.5)
    logged = server.log.read_text()
    assert "GET /api/households/{household_id:path}/card.pdf 200" in logged
    assert "POST /api/search 200" in logged
    for secret in ("张秀英", "李明", HOSTILE_NAME, VALID_ID, FEMALE_ID, WRONG_CHECK_ID):
        assert secret not in logged
    assert "Traceback" not in logged
