"""`cardgen serve` through its HTTP interface (README "In a browser"), in process with
Starlette's test client and real worker processes: what a browser or a script gets back,
and what hostile requests get (path tricks, oversized uploads, missing or forged tokens,
markup in data)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from cardgen.cli.commands import cli
from cardgen.config import load_config
from cardgen.web.app import Desk, make_app
from cardgen.web.failures import Busy
from cardgen.web.serve import build_desk
from cardgen.web.work import GATE, ClientGone, JobBoard, JobSpec, Pool
from tests.cli.test_security import Trap, assert_inert, hostile_file, trap  # noqa: F401 (fixtures)
from tests.conftest import (
    DATE,
    FEMALE_ID,
    TODAY,
    VALID_ID,
    WRONG_CHECK_ID,
    household_rows,
    pdftotext,
    write_csv,
)

BASE = "http://127.0.0.1:8765"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_ADDRESS = "<script>alert(2)</script>路1号"
UPLOAD_MB = 1


def register_rows() -> list[dict[str, str]]:
    """Four households: a plain one, a red one (社区矫正), one with an error, one whose name
    and address are markup."""
    return [*household_rows("H001"),
            *household_rows("H002", 特殊情况="社区矫正", 地址="阳光花园3号楼1单元101",
                            姓名="王建国"),
            *household_rows("H003", 身份证号=WRONG_CHECK_ID, 地址="阳光花园4号楼", 姓名="赵错"),
            *household_rows("H004", 姓名=HOSTILE_NAME, 地址=HOSTILE_ADDRESS, 网格="第4网格")]


def write_register(folder: Path, rows: list[dict[str, str]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_csv(folder / "register.csv", register_rows() if rows is None else rows)


def new_desk(folder: Path, token: str | None = None) -> Desk:
    return build_desk([folder], load_config(), None, TODAY, None, None, token, workers=1,
                      upload_mb=UPLOAD_MB)


def csrf(client: TestClient) -> dict[str, str]:
    """What the page's script sends with a POST: the cookie GET / set, echoed."""
    if "cardgen_csrf" not in client.cookies:
        assert client.get("/").status_code == 200
    return {"X-CSRF-Token": client.cookies["cardgen_csrf"]}


def search(client: TestClient, query: str) -> list[dict[str, object]]:
    answer = client.post("/api/search", json={"q": query}, headers=csrf(client))
    assert answer.status_code == 200, answer.text
    households: list[dict[str, object]] = answer.json()["households"]
    return households


def wait_for(client: TestClient, job: str, seconds: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status: dict[str, object] = client.get(f"/api/jobs/{job}").json()
        if status["state"] not in ("queued", "running"):
            return status
        time.sleep(0.3)
    raise AssertionError(f"job {job} still {status}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("registers")
    write_register(folder)
    return folder


@pytest.fixture(scope="module")
def desk(folder: Path) -> Desk:
    return new_desk(folder)


@pytest.fixture(scope="module")
def client(desk: Desk) -> Iterator[TestClient]:
    with TestClient(make_app(desk), base_url=BASE) as client:
        yield client


def test_the_page_is_chinese_bundled_and_sets_the_csrf_cookie(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "户卡台" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("cardgen_csrf=") and "samesite=strict" in cookie.lower()
    # every asset is the desk's own: no outside origin, no inline script
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", page.text)
    for asset in re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", page.text):
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert not re.search(r"(?<!xmlns=\")https?://", answer.text), asset
    assert client.get("/healthz").json() == {"ok": True}


def test_search_by_number_name_and_address(client: TestClient) -> None:
    [found] = search(client, "h001")
    assert re.fullmatch(r"r[0-9a-f]{12}", str(found.pop("register")))  # no file name in URLs
    assert found == {"household_id": "H001", "number": "001", "community": "恒安社区",
                     "grid": "第3网格", "address": "阳光花园2号楼1单元302", "head": "张秀英",
                     "colour": "orange", "flags": ["低保"], "errors": 0, "in_book": True,
                     "register_name": "register.csv"}
    assert [h["household_id"] for h in search(client, "王建国")] == ["H002"]
    assert [h["household_id"] for h in search(client, "阳光花园 4号楼")] == ["H003"]
    assert len(search(client, "阳光花园")) == 3
    assert search(client, "nobody") == []


def test_a_sensitive_flag_is_listed_as_its_category(client: TestClient) -> None:
    [red] = search(client, "H002")
    assert red["colour"] == "red" and red["flags"] == ["重点人员"]
    assert "社区矫正" not in json.dumps(red, ensure_ascii=False)


def test_markup_in_the_data_comes_back_as_text(client: TestClient) -> None:
    [found] = search(client, "onerror")
    assert found["head"] == HOSTILE_NAME and found["address"] == HOSTILE_ADDRESS
    # the page never has data in its markup: it comes as JSON, shown with textContent
    assert "onerror" not in client.get("/").text


def test_every_post_needs_the_csrf_token(client: TestClient) -> None:
    csrf(client)
    body = {"q": "H001"}
    missing = client.post("/api/search", json=body)
    assert missing.status_code == 403 and missing.json()["code"] == "web.csrf"
    wrong = client.post("/api/search", json=body, headers={"X-CSRF-Token": "abc.def"})
    assert wrong.status_code == 403
    # a pair made up by another page (cookie and header agree, but not signed here)
    forged = {"Cookie": "cardgen_csrf=abc.def", "X-CSRF-Token": "abc.def"}
    assert client.post("/api/search", json=body, headers=forged).status_code == 403
    for url in ("/api/validate", "/api/jobs", "/logout"):
        assert client.post(url, json={}).status_code == 403
    assert client.delete("/api/jobs/x").status_code == 403
    assert client.post("/api/search", json=body, headers=csrf(client)).status_code == 200


def test_a_card_is_the_same_pdf_as_reprint(client: TestClient, folder: Path,
                                           tmp_path: Path) -> None:
    for mode, flags in (("routine", []), ("emergency", ["--emergency"])):
        answer = client.get(f"/api/households/H001/card.pdf?mode={mode}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        assert "H001" in answer.headers["content-disposition"]
        out = tmp_path / f"{mode}.pdf"
        result = CliRunner().invoke(cli, ["reprint", str(folder / "register.csv"), "-o",
                                          str(out), "--household", "H001", "--date", DATE,
                                          *flags])
        assert result.exit_code == 0, result.output
        assert answer.content == out.read_bytes()
    text = pdftotext(out)
    assert "H001" in text and "应急" in text


def test_a_preview_and_the_stickers(client: TestClient, tmp_path: Path) -> None:
    from PIL import Image

    answer = client.get("/api/households/H001/preview.png?mode=emergency")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(answer.content))
    assert image.width == 794  # A4 at 96 dpi
    stickers = client.get("/api/households/H001/stickers.pdf")
    assert stickers.status_code == 200
    (tmp_path / "stickers.pdf").write_bytes(stickers.content)
    assert "低保" in pdftotext(tmp_path / "stickers.pdf")


def test_cards_that_cannot_be_printed(client: TestClient) -> None:
    unknown = client.get("/api/households/H999/card.pdf")
    assert unknown.status_code == 404 and unknown.json()["code"] == "selection.empty"
    bad_mode = client.get("/api/households/H001/card.pdf?mode=sideways")
    assert bad_mode.status_code == 400 and bad_mode.json()["code"] == "web.bad_request"
    refused = client.get("/api/households/H003/card.pdf")
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "data.household_errors" and body["problems"][0]["column"] == "身份证号"
    assert WRONG_CHECK_ID not in refused.text and "**************009X" in refused.text


def test_a_refused_pdf_opened_in_a_tab_is_a_page_not_json(client: TestClient) -> None:
    """The page opens card.pdf and stickers.pdf in a new tab: what the browser asks for
    itself (Accept: text/html) is refused with a page a person reads; scripts keep JSON."""
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    for url, status, said in (("/api/households/H003/card.pdf", 422, "身份证号"),
                              ("/api/households/H003/stickers.pdf", 422, "身份证号"),
                              ("/api/households/H999/card.pdf?mode=emergency", 404, "H999"),
                              ("/api/households/H001/card.pdf?mode=sideways", 400, "mode"),
                              ("/api/jobs/nosuchjob/result", 404, "")):
        page = client.get(url, headers=browser)
        assert page.status_code == status, url
        assert page.headers["content-type"].startswith("text/html"), url
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert '<html lang="zh-CN">' in page.text and "无法打开这份文件" in page.text, url
        assert '"code"' not in page.text and "{" not in page.text, url
        assert said in page.text, url
        assert WRONG_CHECK_ID not in page.text
        script = client.get(url)
        assert script.status_code == status and script.json()["code"], url


def test_no_request_path_reaches_the_file_system(client: TestClient) -> None:
    tricks = ["/static/../../../../etc/passwd", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
              "/static/..%2f..%2fpyproject.toml", "/static/app.js%00.png", "/static/",
              "/static/font.otf/../../../etc/passwd", "/etc/passwd", "/../../etc/passwd",
              "/api/households/..%2F..%2F..%2Fetc%2Fpasswd/card.pdf",
              "/api/households/../../../../etc/passwd/card.pdf",
              "/api/households/%2Fetc%2Fpasswd/preview.png",
              "/api/jobs/..%2F..%2Fetc%2Fpasswd/result", "/api/households/H001/card.pdf/.."]
    for trick in tricks:
        answer = client.get(trick)
        assert answer.status_code in (404, 400), (trick, answer.status_code)
        assert answer.headers["content-type"].startswith("application/json"), trick
        assert "root:" not in answer.text and "[project]" not in answer.text
        assert answer.json()["code"] in ("web.not_found", "selection.empty"), trick


def test_a_broken_upload_lists_its_problems(client: TestClient, desk: Desk,
                                           folder: Path) -> None:
    rows = household_rows("U1", 身份证号=WRONG_CHECK_ID, 联系电话="123")
    data = write_csv(folder.parent / "broken.csv", rows).read_bytes()
    answer = client.post("/api/validate", files={"file": ("第一网格 登记.csv", data, "text/csv")},
                         headers=csrf(client))
    assert answer.status_code == 200
    report = answer.json()
    assert report["ok"] is False and report["households"] == 1 and report["members"] == 2
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert [(p["row"], p["column"], p["value"]) for p in errors] == [
        (2, "身份证号", "**************009X")]
    assert {p["source"] for p in report["problems"]} == {"第一网格 登记.csv"}
    assert "x-cardgen-upload" not in answer.headers  # nothing to print from
    assert WRONG_CHECK_ID not in answer.text
    assert not list((desk.settings.scratch / "uploads").iterdir())  # deleted once read


def test_an_uploaded_excel_lock_file_is_called_one(client: TestClient, desk: Desk) -> None:
    """~$登记表.xlsx, the file Excel leaves beside an open workbook, picked by mistake."""
    from tests.reading.test_registers import excel_lock_file

    answer = client.post("/api/validate", headers=csrf(client), files={
        "file": ("~$登记表.xlsx", excel_lock_file(), "application/octet-stream")})
    report = answer.json()
    assert report["ok"] is False
    assert [p["code"] for p in report["problems"]] == ["input.lock_file"]
    assert not list((desk.settings.scratch / "uploads").iterdir())


def test_an_oversized_upload_is_refused(client: TestClient) -> None:
    big = b"x" * (UPLOAD_MB * 2**20 + 1)
    declared = client.post("/api/validate", files={"file": ("big.csv", big, "text/csv")},
                           headers=csrf(client))
    assert declared.status_code == 413 and declared.json()["code"] == "web.too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n"
        for _ in range(UPLOAD_MB * 16 + 1):
            yield b"y" * 2**16
    streamed = client.post("/api/validate", content=chunks(), headers={
        **csrf(client), "Content-Type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413 and streamed.json()["code"] == "web.too_large"
    too_much_json = client.post("/api/search", content=b'{"q": "' + b"a" * 70000 + b'"}',
                                headers={**csrf(client), "Content-Type": "application/json"})
    assert too_much_json.status_code == 413


def test_bad_requests_get_json_answers(client: TestClient) -> None:
    headers = csrf(client)
    for body, code in ((b"not json", "web.bad_request"), (b"[1, 2]", "web.bad_request"),
                       (b'{"q": 3}', "web.bad_request")):
        answer = client.post("/api/search", content=body,
                             headers={**headers, "Content-Type": "application/json"})
        assert (answer.status_code, answer.json()["code"]) == (400, code)
    form = client.post("/api/search", data={"q": "H001"}, headers=headers)
    assert form.status_code == 400
    nothing = client.post("/api/validate", files={"other": ("a.csv", b"x")}, headers=headers)
    assert nothing.status_code == 400
    assert client.put("/api/search", headers=headers).status_code == 405
    unreadable = client.post("/api/validate", files={"file": ("a.xlsx", b"PK\x03\x04junk")},
                             headers=headers)
    assert unreadable.status_code == 200
    assert unreadable.json()["ok"] is False
    assert unreadable.json()["problems"][0]["code"] == "input.unreadable"
    assert unreadable.json()["problems"][0]["source"] == "a.xlsx"


def test_a_grid_ledger_as_a_job(client: TestClient, tmp_path: Path) -> None:
    answer = client.post("/api/jobs", json={"kind": "ledger", "grid": "第3网格"},
                         headers=csrf(client))
    assert answer.status_code == 422  # H003 in that grid has an error
    assert answer.json()["code"] == "data.household_errors"
    assert answer.json()["problems"][0]["column"] == "身份证号"
    answer = client.post("/api/jobs", json={"kind": "ledger", "grid": "第3网格",
                                            "skip_invalid": True}, headers=csrf(client))
    assert answer.status_code == 202
    job = answer.json()["job"]
    status = wait_for(client, job)
    assert status["state"] == "done" and status["done"] == status["total"] == 2
    result = client.get(f"/api/jobs/{job}/result")
    assert result.headers["content-type"] == "application/pdf"
    (tmp_path / "ledger.pdf").write_bytes(result.content)
    text = pdftotext(tmp_path / "ledger.pdf")
    assert "第3网格" in text and "H001" in text and "H003" in text  # listed as skipped


def test_the_emergency_batch_and_stickers_as_jobs(client: TestClient, tmp_path: Path) -> None:
    job = client.post("/api/jobs", json={"kind": "emergency", "colours": ["红"]},
                      headers=csrf(client)).json()["job"]
    assert wait_for(client, job)["state"] == "done"
    (tmp_path / "red.pdf").write_bytes(client.get(f"/api/jobs/{job}/result").content)
    text = pdftotext(tmp_path / "red.pdf")
    assert "H002" in text and "H001" not in text and "应急" in text
    job = client.post("/api/jobs", json={"kind": "stickers", "grid": "第4网格"},
                      headers=csrf(client)).json()["job"]
    assert wait_for(client, job)["state"] == "done"
    assert client.get(f"/api/jobs/{job}/result").content.startswith(b"%PDF")


def test_the_emergency_kit_as_a_job(client: TestClient, tmp_path: Path) -> None:
    """A grid's 应急包 from the desk: the roster, the 明白卡 and the cards with tabs on top,
    zipped with the roster as data, as `cardgen emergency` writes them."""
    answer = client.post("/api/jobs", json={"kind": "emergency_kit", "grid": "第3网格",
                                            "colours": ["红"]}, headers=csrf(client))
    assert answer.status_code == 422  # H003 has an error: the kit says so, as a ledger does
    answer = client.post("/api/jobs", json={"kind": "emergency_kit", "grid": "第3网格",
                                            "skip_invalid": True}, headers=csrf(client))
    assert answer.status_code == 202
    status = wait_for(client, answer.json()["job"])
    assert status["state"] == "done" and status["kind"] == "emergency_kit"
    result = client.get(f"/api/jobs/{answer.json()['job']}/result")
    assert result.headers["content-type"] == "application/zip"
    assert "应急包" in result.headers["content-disposition"] or \
        "%E5%BA%94%E6%80%A5%E5%8C%85" in result.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(result.content)) as kit:
        names = set(kit.namelist())
        assert names == {"第3网格-应急名单.pdf", "第3网格-明白卡.pdf", "第3网格-应急户卡.pdf",
                         "roster.json"}
        roster = json.loads(kit.read("roster.json"))
        (tmp_path / "mingbai.pdf").write_bytes(kit.read("第3网格-明白卡.pdf"))
        (tmp_path / "cards.pdf").write_bytes(kit.read("第3网格-应急户卡.pdf"))
    assert len(roster["grids"]) == 1 and roster["grids"][0]["grid"].endswith("第3网格")
    assert "H001" in pdftotext(tmp_path / "mingbai.pdf")
    cards = pdftotext(tmp_path / "cards.pdf")
    assert "H002" in cards and "H003" not in cards and "H004" not in cards


def test_jobs_refused(client: TestClient) -> None:
    headers = csrf(client)
    update = client.post("/api/jobs", json={"kind": "update"}, headers=headers)
    assert update.status_code == 400 and update.json()["code"] == "web.no_book"
    for body, status, code in (({"kind": "poster"}, 400, "web.bad_request"),
                               ({"kind": "ledger", "colours": ["purple"]}, 400, "usage.colour"),
                               ({"kind": "ledger", "grid": "第9网格"}, 404, "selection.empty"),
                               ({"kind": "ledger", "grid": 3}, 400, "web.bad_request"),
                               ({"kind": "ledger", "register": "other.csv"}, 404,
                                "web.register_unknown")):
        answer = client.post("/api/jobs", json=body, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (status, code), body
    assert client.get("/api/jobs/nosuchjob").status_code == 404


def test_a_job_of_every_grid_is_limited_per_grid_only(client: TestClient,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A district's job runs a grid at a time: only one grid's size is bounded."""
    import cardgen.web.app

    every_grid = {"kind": "ledger", "grid": None, "skip_invalid": True}
    monkeypatch.setattr(cardgen.web.app, "GRID_HOUSEHOLDS", 2)
    refused = client.post("/api/jobs", json=every_grid, headers=csrf(client))
    assert refused.status_code == 413 and refused.json()["code"] == "web.job_too_big"
    assert "第3网格 has 3 households" in refused.json()["message"]
    monkeypatch.setattr(cardgen.web.app, "GRID_HOUSEHOLDS", 3)  # four households, two grids
    answer = client.post("/api/jobs", json=every_grid, headers=csrf(client))
    assert answer.status_code == 202
    job = answer.json()["job"]
    assert client.get(f"/api/jobs/{job}").json()["total"] == 4
    client.delete(f"/api/jobs/{job}", headers=csrf(client))


def test_a_job_can_be_cancelled(client: TestClient) -> None:
    job = client.post("/api/jobs", json={"kind": "ledger", "grid": "第4网格"},
                      headers=csrf(client)).json()["job"]
    cancelled = client.delete(f"/api/jobs/{job}", headers=csrf(client))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.get(f"/api/jobs/{job}").json()["state"] == "cancelled"
    assert client.get(f"/api/jobs/{job}/result").json()["code"] == "web.not_ready"


def test_a_jobs_progress_moves_and_it_can_be_cancelled(client: TestClient, desk: Desk,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Held at its second household by the test gate (work.GATE): the job says what it does
    and how far it is, then a POST cancel stops its process."""
    monkeypatch.setenv(GATE, str(tmp_path))
    job = client.post("/api/jobs", json={"kind": "emergency", "colours": ["红", "橙", "黄"],
                                         "skip_invalid": True},
                      headers=csrf(client)).json()["job"]
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/api/jobs/{job}").json()
        seen.append((status["stage"], status["done"]))
        if (status["stage"], status["done"]) == ("cards", 1):
            break
        time.sleep(0.05)
    assert status["state"] == "running" and 1 == status["done"] < status["total"]
    assert 0 < status["fraction"] < 1
    assert seen[0][0] in ("reading", "preparing", "layout", "cards")
    process = desk.board.jobs[job].process
    assert process is not None and process.is_alive()
    cancelled = client.post(f"/api/jobs/{job}/cancel", headers=csrf(client))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert not process.is_alive() and not desk.board.jobs[job].folder.exists()
    (tmp_path / "go").touch()
    assert client.get(f"/api/jobs/{job}").json()["state"] == "cancelled"


def test_jobs_are_bounded_and_dropped_when_nobody_asks(desk: Desk) -> None:
    board = JobBoard(desk.settings, running=0, waiting=1, abandon=0.2)
    spec = JobSpec("ledger", None, False, None)
    job = board.submit(spec, None, 1)
    with pytest.raises(Busy):
        board.submit(spec, None, 1)
    time.sleep(0.3)
    board.tick()
    assert job.state == "cancelled" and not job.folder.exists()
    board.submit(spec, None, 1)  # room again


def test_work_not_started_is_dropped_when_its_client_goes(desk: Desk) -> None:
    pool = Pool(desk.settings, workers=1, waiting=8)

    async def gone() -> None:
        return None

    async def scenario() -> float:
        # the worker and the pool's hand-over queue (one more) are busy for a second each
        busy = [asyncio.ensure_future(pool.call(time.sleep, 1)) for _ in range(2)]
        await asyncio.sleep(0.2)
        with pytest.raises(ClientGone):
            await pool.call(time.sleep, 60, gone=gone)
        await asyncio.gather(*busy)
        started = time.monotonic()
        await pool.call(time.sleep, 0)  # comes next: the minute's sleep was dropped
        return time.monotonic() - started
    try:
        assert asyncio.run(scenario()) < 20
    finally:
        pool.close()


def test_printing_from_a_clean_upload(client: TestClient, folder: Path,
                                      tmp_path: Path) -> None:
    data = write_csv(tmp_path / "clean.csv", household_rows("U7", 地址="新村7号")).read_bytes()
    answer = client.post("/api/validate", files={"file": ("clean.csv", data)},
                         headers=csrf(client))
    assert answer.json()["ok"] is True
    upload = answer.headers["x-cardgen-upload"]
    job = client.post("/api/jobs", json={"kind": "ledger", "register": upload},
                      headers=csrf(client)).json()["job"]
    assert wait_for(client, job)["state"] == "done"
    (tmp_path / "upload.pdf").write_bytes(client.get(f"/api/jobs/{job}/result").content)
    assert "新村7号" in pdftotext(tmp_path / "upload.pdf")
    assert search(client, "U7") == []  # an upload is printed from, not served
    card = client.get(f"/api/households/U7/card.pdf?register={upload}")
    assert card.status_code == 404


def test_a_register_is_read_again_when_it_changes(tmp_path: Path) -> None:
    folder = tmp_path / "registers"
    path = write_register(folder, household_rows("H001"))
    with TestClient(make_app(new_desk(folder)), base_url=BASE) as client:
        assert search(client, "新来的") == []
        write_csv(path, [*household_rows("H001", 地址="幸福里9号"),
                         *household_rows("H077", 姓名="新来的")])
        assert [h["household_id"] for h in search(client, "新来的")] == ["H077"]
        card = client.get("/api/households/H001/card.pdf")
        (tmp_path / "card.pdf").write_bytes(card.content)
        assert "幸福里9号" in pdftotext(tmp_path / "card.pdf")
        write_csv(folder / "second.csv", household_rows("S001", 姓名="第二本"))
        assert [h["register_name"] for h in search(client, "第二本")] == ["second.csv"]
        path.write_bytes(b"")  # emptied while being saved: said, not served
        overview = client.get("/api/overview").json()
        assert overview["registers"][0]["error"]["code"] == "input.empty"
        unread = client.get("/api/households/H001/card.pdf")  # why: the register is unread
        assert unread.status_code == 422 and unread.json()["code"] == "input.empty"


def test_a_drawing_asked_again_is_answered_without_waiting_for_a_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "registers"
    path = write_register(folder, household_rows("H001"))
    desk = new_desk(folder)
    asked: list[str] = []
    call = desk.pool.call

    async def counted(function: object, *args: object, **kwargs: object) -> object:
        asked.append(getattr(function, "__name__", ""))
        return await call(function, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(desk.pool, "call", counted)
    with TestClient(make_app(desk), base_url=BASE) as client:
        first = client.get("/api/households/H001/preview.png")
        assert first.status_code == 200 and asked.count("draw") == 1
        for _ in range(3):  # twenty grid workers looking at the same cards: no queue
            again = client.get("/api/households/H001/preview.png")
            assert again.status_code == 200 and again.content == first.content
        assert asked.count("draw") == 1
        emergency = client.get("/api/households/H001/preview.png?mode=emergency")
        assert emergency.content != first.content and asked.count("draw") == 2
        card = client.get("/api/households/H001/card.pdf")
        assert card.content.startswith(b"%PDF") and asked.count("draw") == 3
        write_csv(path, household_rows("H001", 地址="幸福里9号"))  # the register changed
        changed = client.get("/api/households/H001/card.pdf")
        assert asked.count("draw") == 4
        (tmp_path / "card.pdf").write_bytes(changed.content)
        assert "幸福里9号" in pdftotext(tmp_path / "card.pdf")


def test_the_log_names_routes_not_people(client: TestClient, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    upload = write_csv(tmp_path / "upload.csv", household_rows("H001")).read_bytes()
    with caplog.at_level(logging.INFO, logger="cardgen.web"):
        search(client, "张秀英")
        client.get("/api/households/H001/card.pdf")
        client.get("/api/households/H003/card.pdf")
        client.get("/api/households/李明/card.pdf")  # a name in a URL is not logged either
        client.post("/api/validate", headers=csrf(client),
                    files={"file": ("张秀英.csv", upload)})
    logged = caplog.text
    assert "POST /api/search 200" in logged and "POST /api/validate 200" in logged
    assert "GET /api/households/{household_id:path}/card.pdf 422" in logged
    for secret in ("张秀英", "李明", VALID_ID, FEMALE_ID, WRONG_CHECK_ID, "H001", "H003"):
        assert secret not in logged


def test_loopback_answers_only_to_its_own_names(client: TestClient) -> None:
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example", ""):
        answer = client.get("/healthz", headers={"Host": host})
        assert answer.status_code == 400 and answer.json()["code"] == "web.host", host
    for host in ("localhost:8765", "127.0.0.1", "[::1]:8765"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, host


def test_a_token_guards_every_request(folder: Path) -> None:
    token = "s3cret-token-for-the-office"
    with TestClient(make_app(new_desk(folder, token)), base_url="http://10.1.2.3:8765") as client:
        refused = client.get("/api/overview")
        assert refused.status_code == 401 and refused.json()["code"] == "web.unauthorized"
        assert refused.headers["www-authenticate"] == "Bearer"
        page = client.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/login")
        assert client.get("/healthz").status_code == 401
        assert client.get("/api/households/H001/card.pdf").status_code == 401
        for wrong in ("Bearer nope", "Bearer " + token[:-1], "Basic " + token, token):
            assert client.get("/healthz", headers={"Authorization": wrong}).status_code == 401
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/overview", headers=bearer).status_code == 200
        # the login form: its page and assets are open, the rest needs its cookie
        login = client.get("/login")
        assert login.status_code == 200 and "访问口令" in login.text
        assert client.get("/static/app.css").status_code == 200
        headers = {"X-CSRF-Token": client.cookies["cardgen_csrf"]}
        assert client.post("/login", json={"token": token}).status_code == 403  # no CSRF
        started = time.monotonic()
        wrong = client.post("/login", json={"token": "guess"}, headers=headers)
        assert wrong.status_code == 401 and time.monotonic() - started >= 1
        assert "cardgen_session" not in client.cookies
        right = client.post("/login", json={"token": token}, headers=headers)
        assert right.status_code == 200 and "httponly" in right.headers["set-cookie"].lower()
        assert client.get("/api/overview").status_code == 200
        assert [h["household_id"] for h in search(client, "H001")] == ["H001"]
        client.post("/logout", json={}, headers=headers)
        assert client.get("/api/overview").status_code == 401


class Clock:
    """A clock the test moves: sessions and throttles expire without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def login_csrf(client: TestClient) -> dict[str, str]:
    """The CSRF header of a desk with a token: the login page sets its cookie."""
    if "cardgen_csrf" not in client.cookies:
        assert client.get("/login").status_code == 200
    return {"X-CSRF-Token": client.cookies["cardgen_csrf"]}


def logged_in(client: TestClient, token: str, **body: object) -> dict[str, object]:
    answer = client.post("/login", json={"token": token, **body}, headers=login_csrf(client))
    assert answer.status_code == 200, answer.text
    said: dict[str, object] = answer.json()
    return said


def test_a_session_is_random_ends_at_logout_and_expires(folder: Path) -> None:
    token = "s3cret-token-for-the-office"
    desk = new_desk(folder, token)
    clock = Clock()
    desk.rules.sessions.clock = clock
    app = make_app(desk)
    thief = TestClient(app, base_url="http://10.1.2.3:8765")  # another device, cookie copied

    def copied(session: str) -> int:
        return thief.get("/healthz", headers={"Cookie": f"cardgen_session={session}"}).status_code
    with TestClient(app, base_url="http://10.1.2.3:8765") as client:
        logged_in(client, token)
        first = client.cookies["cardgen_session"]
        logged_in(client, token)
        second = client.cookies["cardgen_session"]
        assert first != second and token not in first and len(second) >= 40
        assert (copied(first), copied(second)) == (401, 200)  # logging in again ends the first
        assert client.post("/logout", json={}, headers=login_csrf(client)).status_code == 200
        assert copied(second) == 401  # the copy of the cookie ends with the session it named
        # an hour without a request ends a session; using it keeps it open ...
        logged_in(client, token)
        for _ in range(12):
            clock.now += desk.rules.sessions.idle - 1
            assert client.get("/api/overview").status_code == 200
        # ... for twelve hours at most
        clock.now += desk.rules.sessions.idle - 1
        assert client.get("/api/overview").status_code == 401
        logged_in(client, token)
        clock.now += desk.rules.sessions.idle + 1
        assert client.get("/api/overview").status_code == 401
    assert (desk.rules.sessions.idle, desk.rules.sessions.most) == (3600, 12 * 3600)


def test_wrong_logins_wait_longer_then_are_refused(folder: Path) -> None:
    token = "s3cret-token-for-the-office"
    desk = new_desk(folder, token)
    clock = Clock()
    throttle = desk.rules.throttle
    throttle.clock, throttle.delay = clock, 0.05
    with TestClient(make_app(desk), base_url="http://10.1.2.3:8765") as client:
        headers = login_csrf(client)
        waited = []
        for _ in range(throttle.tries):
            started = time.monotonic()
            wrong = client.post("/login", json={"token": "guess"}, headers=headers)
            assert wrong.status_code == 401
            waited.append(time.monotonic() - started)
        assert [w > (n + 1) * 0.05 - 0.01 for n, w in enumerate(waited)] == [True] * 5
        refused = client.post("/login", json={"token": token}, headers=headers)
        assert refused.status_code == 429 and refused.json()["code"] == "web.too_many_tries"
        assert refused.headers["retry-after"] == "60"
        assert "wait 60 seconds" in refused.json()["message"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/overview", headers=bearer).status_code == 429
        # another device is not held up
        with TestClient(make_app(desk), base_url="http://10.1.2.3:8765",
                        client=("10.1.2.99", 5000)) as other:
            logged_in(other, token)
        clock.now += 61
        wrong = client.post("/login", json={"token": "guess"}, headers=headers)
        assert wrong.status_code == 401  # its lockout is over; the next doubles it
        refused = client.post("/login", json={"token": token}, headers=headers)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "120"
        clock.now += 121
        logged_in(client, token)
        assert client.get("/api/overview").status_code == 200


def test_guesses_sent_at_once_are_refused_after_a_few(folder: Path) -> None:
    token = "s3cret-token-for-the-office"
    desk = new_desk(folder, token)
    desk.rules.throttle.delay = 0.05
    with TestClient(make_app(desk), base_url="http://10.1.2.3:8765") as client:
        headers = login_csrf(client)

        def guess(n: int) -> int:
            return client.post("/login", json={"token": f"guess{n}"},
                               headers=headers).status_code
        with ThreadPoolExecutor(20) as threads:
            statuses = sorted(threads.map(guess, range(20)))
        assert statuses == [401] * 5 + [429] * 15


def test_after_login_the_page_asked_for(folder: Path) -> None:
    token = "s3cret-token-for-the-office"
    with TestClient(make_app(new_desk(folder, token)), base_url="http://10.1.2.3:8765") as client:
        asked = "/api/households/H001/card.pdf?mode=emergency"
        page = client.get(asked, headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=" + quote(asked, safe="")
        assert logged_in(client, token, next=asked)["next"] == asked
        for elsewhere in ("//evil.example/", "/\\evil.example", "https://evil.example/",
                          "javascript:alert(1)", "evil.example", "/\tx", "", None, 7):
            assert logged_in(client, token, next=elsewhere)["next"] == "/", elsewhere


def test_serve_refuses_a_network_address_without_a_token(tmp_path: Path) -> None:
    path = write_register(tmp_path)
    result = CliRunner().invoke(cli, ["serve", str(path), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--token-file" in result.output
    short = tmp_path / "token"
    short.write_text("1234\n")
    result = CliRunner().invoke(cli, ["serve", str(path), "--host", "0.0.0.0",
                                      "--token-file", str(short)])
    assert result.exit_code == 2 and "16" in result.output
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1  # a missing input is data, exit 1, in every command


def test_a_hostile_register_is_served_inert(hostile_file: Path, trap: Trap,  # noqa: F811
                                            tmp_path: Path) -> None:
    """The desk draws with the CLI's fetch rules: data that names a URL or a file fetches
    nothing, and its PDFs embed nothing."""
    folder = tmp_path / "served"
    folder.mkdir()
    hostile_file.rename(folder / hostile_file.name)
    with TestClient(make_app(new_desk(folder)), base_url=BASE) as client:
        for household in ("X0", "X1", "X2", "X5"):
            card = client.get(f"/api/households/{household}/card.pdf")
            assert card.status_code == 200, card.text
            (tmp_path / f"{household}.pdf").write_bytes(card.content)
            assert_inert(tmp_path / f"{household}.pdf")
        assert client.get("/api/households/X3/preview.png").status_code == 200
        job = client.post("/api/jobs", json={"kind": "ledger", "grid": None,
                                             "skip_invalid": True},
                          headers=csrf(client)).json()["job"]
        assert wait_for(client, job)["state"] == "done"
    assert trap.hits == []


def test_a_desk_with_a_book_prints_its_numbers_and_its_update(tmp_path: Path) -> None:
    folder = tmp_path / "served"
    path = write_register(folder, [*household_rows("H001", 地址="阳光花园9号"),
                                   *household_rows("H002", 地址="阳光花园1号")])
    books = tmp_path / "books"
    result = CliRunner().invoke(cli, ["ledger", str(path), "-o", str(books), "--date", DATE,
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    # since the book was printed: a new household, at the front in address order
    write_csv(path, [*household_rows("H001", 地址="阳光花园9号", 特殊情况="社区矫正"),
                     *household_rows("H002", 地址="阳光花园1号"),
                     *household_rows("H003", 地址="阳光花园0号", 姓名="新住户")])
    desk = build_desk([folder], load_config(), None, TODAY, None, books, None, workers=1)
    with TestClient(make_app(desk), base_url=BASE) as client:
        found = {h["household_id"]: h for h in search(client, "阳光花园")}
        numbers = {hid: h["number"] for hid, h in found.items()}
        assert numbers == {"H001": "002", "H002": "001", "H003": ""}  # the book's
        # new since the book: no number in it yet, only the one the update packet gives it
        assert [hid for hid, h in found.items() if not h["in_book"]] == ["H003"]
        assert found["H003"]["number_after_update"] == "003"
        assert "number_after_update" not in found["H001"]
        card = client.get("/api/households/H001/card.pdf")
        out = tmp_path / "H001.pdf"
        out.write_bytes(card.content)
        reprinted = tmp_path / "reprint.pdf"
        assert CliRunner().invoke(cli, ["reprint", str(path), "-o", str(reprinted),
                                        "--household", "H001", "--book", str(books),
                                        "--date", DATE]).exit_code == 0
        assert card.content == reprinted.read_bytes()
        for what in ("card.pdf", "stickers.pdf", "card.pdf?mode=emergency"):
            new = client.get(f"/api/households/H003/{what}")
            assert new.status_code == 404 and new.json()["code"] == "book.not_in_book"
            # said to a grid worker at the desk: its tab and button, no folder, no command
            message = new.json()["message"]
            assert "台账与批量打印" in message and "更新包" in message and "H003" in message
            for hidden in (str(books), str(tmp_path), "cardgen", "--book", "`"):
                assert hidden not in message, (what, hidden)
            page = client.get(f"/api/households/H003/{what}", headers={"Accept": "text/html"})
            assert page.status_code == 404 and "更新包" in page.text
            assert str(tmp_path) not in page.text and "book.not_in_book" not in page.text
        assert client.get("/api/households/H003/preview.png").status_code == 200
        job = client.post("/api/jobs", json={"kind": "update"},
                          headers=csrf(client)).json()["job"]
        status = wait_for(client, job)
        assert status["state"] == "done" and status["changed"] is True
        packet = client.get(f"/api/jobs/{job}/result")
        assert packet.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(packet.content)) as archive:
            names = archive.namelist()
            changes = json.loads(archive.read("changes.json"))
        assert "manifest.json" in names and any(name.endswith(".pdf") for name in names)
        [grid] = changes["grids"]
        assert grid["added"] == [{"household_id": "H003", "number": "003"}]
        [changed] = grid["changed"]
        assert changed["household_id"] == "H001" and changed["reasons"] and grid["removed"] == []
        # the page shows the change list with the packet: the same as changes.json
        assert status["report"]["grids"] == changes["grids"]
        assert set(status["report"]["files"]) == set(names) - {"manifest.json", "changes.json"}


def test_a_grids_job_is_handed_that_grid_only(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A grid's ledger job gets its grid's households, not the whole register (memory: a
    grid of a district's register is a tenth of it), yet says what the whole register's
    checks found (a household whose rows stand in two grids) and prints what the CLI does."""
    rows = [*household_rows("H001"), *household_rows("H002", 地址="阳光花园3号楼"),
            *household_rows("H004", 网格="第4网格", 地址="幸福里1号"),
            *household_rows("H005", 网格="第4网格", 地址="幸福里2号")]
    rows[-1]["网格"] = "第3网格"  # H005's second row says another grid: an error on H005
    path = write_register(tmp_path / "registers", rows)
    handed: list[Any] = []
    original = JobBoard.submit

    def submit(board: JobBoard, spec: JobSpec, loaded: Any, total: int) -> Any:
        handed.append(loaded)
        return original(board, spec, loaded, total)

    monkeypatch.setattr(JobBoard, "submit", submit)
    with TestClient(make_app(new_desk(tmp_path / "registers")), base_url=BASE) as client:
        refused = client.post("/api/jobs", json={"kind": "ledger", "grid": "第4网格"},
                              headers=csrf(client))
        assert refused.status_code == 422 and refused.json()["code"] == "data.household_errors"
        assert [(p["code"], p["row"]) for p in refused.json()["problems"]] == [
            ("household.fields_disagree", 9)]
        answer = client.post("/api/jobs", json={"kind": "ledger", "grid": "第4网格",
                                                "skip_invalid": True}, headers=csrf(client))
        assert answer.status_code == 202
        job = answer.json()["job"]
        assert wait_for(client, job)["state"] == "done"
        desk_pdf = client.get(f"/api/jobs/{job}/result").content
    assert [h.household_id for h in handed[0].dataset.households] == ["H004", "H005"]
    assert {p.household_id for p in handed[0].dataset.errors} == {"H005"}
    books = tmp_path / "books"
    result = CliRunner().invoke(cli, ["ledger", str(path), "-o", str(books), "--date", DATE,
                                      "--grid", "第4网格", "--skip-invalid"])
    assert result.exit_code == 0, result.output
    (printed,) = books.glob("*.pdf")
    assert desk_pdf == printed.read_bytes()
    text = pdftotext(printed)
    assert "H004" in text and "H005" in text and "H001" not in text  # H005 listed as skipped
