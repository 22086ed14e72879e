"""The officials' console in a real headless browser: Debian's chromium (``/usr/bin/chromium``,
``apt-get install chromium``; ``make`` installs it when missing) driven by Playwright, against the
four services of one stack (tests/stack.py, real PostgreSQL and broker) and the console, each served
by uvicorn. One browser for the session; each test its own browser context (cookies)."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import os
import re
import shutil
from datetime import datetime, timezone

import openpyxl
import pytest
import pytest_asyncio
import uvicorn

from deploy.demo import Demo
from deploy.demo.registry import registry_divisions, registry_households
from deploy.embedded import free_port
from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.clock import SettableClock
from shared.web.serve import server_config
from tests.seeds import in_ci
from tests.stack import ServiceStack, wait_until

CHROMIUM = os.environ.get("FUPIN_TEST_CHROMIUM", "/usr/bin/chromium")
if not shutil.which(CHROMIUM):  # CI installs it (`make browser`, as root): there a missing browser fails
    _why = f"no chromium at {CHROMIUM} (apt-get install chromium; `make` installs it when run as root)"
    if in_ci():
        pytest.fail(_why, pytrace=False)
    pytest.skip(_why, allow_module_level=True)

BAD_ROLL = ("户编号,行政区划代码,姓名,证件号码,与户主关系,劳动技能,贫困户属性,主要致贫原因,识别年度\r\n"
            "JH-0001,652722102201,张三,652722198001011230,外星人,普通劳动力,一般贫困户,因病,2015\r\n").encode("utf-8-sig")
BAD_BATCH = ("行号,项目编号,资金渠道,资金年度,收款人类型,收款人,户ID,金额（元）,用途\r\n"
             "L1,652722-2018-0001,central_special,2018,合作社,托里镇合作社,,1200.00,\r\n"
             "L2,652722-2018-0001,central_special,2018,农户,张三,,12.345,\r\n").encode("utf-8-sig")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(databases, broker):
    """The stack and the console, served on free ports; yields the console's base URL."""
    clock = SettableClock(datetime(2018, 6, 1, 2, tzinfo=timezone.utc))
    async with ServiceStack.start(databases, broker, clock) as stack:
        # 精河县's divisions and its registry of DOMAIN §9 (the demo's first two steps; no money or projects)
        demo = Demo(stack.clients, lambda role, division, dept=None: stack.token(role, division, dept))
        await registry_divisions(demo)
        await registry_households(demo)
        port = free_port()
        settings = ConsoleSettings(**{f"{s}_url": str(c.base_url).rstrip("/")
                                     for s, c in stack.clients.items()})
        # the browser keeps its connections open: do not wait for it to hang up when stopping
        server = uvicorn.Server(server_config(create_app(settings), settings, host="127.0.0.1", port=port, lifespan="on",
                                             timeout_graceful_shutdown=2))
        task = asyncio.create_task(server.serve())
        await wait_until(lambda: asyncio.sleep(0, server.started), 30)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        # --no-sandbox: the suite may run as root (containers, CI), where chromium's sandbox refuses to start
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser):
    context = await browser.new_context(accept_downloads=True, locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(30_000)
    yield page
    await context.close()


async def log_in(page, site: str, label: str) -> None:
    await page.goto(f"{site}/dashboard")
    assert page.url.startswith(f"{site}/login")  # not logged in: sent to the login page
    await page.get_by_label(re.compile(label)).check()
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{site}/dashboard")


@pytest.mark.asyncio(loop_scope="session")
async def test_a_county_official_uses_the_console(site, page, tmp_path):
    await log_in(page, site, "精河县扶贫办")
    who = await page.locator("#who").inner_text()
    assert "精河县扶贫办" in who and "652722000000" not in who  # the official's division by name
    # the dashboard: the registry's, funds' and projects' figures with charts, no refusal
    await page.locator("#registry-figures").wait_for()
    assert await page.locator("#funds-figures").count() == 1 and await page.locator("#project-figures").count() == 1
    assert await page.locator("svg.chart").count() >= 2
    assert await page.locator(".problem").count() == 0, await page.locator(".problem").all_inner_texts()

    assert "1767 / 4340" in await page.locator("#registry-figures").inner_text()  # DOMAIN §9
    notices = await page.locator("#announcement-figures").inner_text()
    assert all(label in notices for label in ("建档立卡", "资金", "项目")) and "(" not in notices, notices

    # household search and a household's record
    await page.goto(f"{site}/households")
    await page.locator("#household-search input[name=division]").fill("652722")
    await page.locator("#household-search button").click()
    first = page.locator("#household-list a").first
    number = await first.inner_text()
    await first.click()
    assert number in await page.locator("h1").inner_text()
    assert await page.locator("#household-record").count() == 1
    record = await page.locator("#household-record").inner_text()
    assert re.search(r"区划\s+\S*[镇乡]\S*村", record) and not re.search(r"(?<!\d)\d{12}(?!\d)", record), record
    assert "disability" not in await page.content()  # the cause by its label (因残 …), not its code

    # an import with a bad row: refused by the registry, every error listed in the page
    await page.goto(f"{site}/uploads")
    roll = tmp_path / "建档立卡.csv"
    roll.write_bytes(BAD_ROLL)
    await page.locator("#registry-upload input[type=file]").set_input_files(str(roll))
    await page.locator("#registry-upload button").click()
    errors = page.locator("#upload-errors")
    await errors.wait_for()
    text = await errors.inner_text()
    assert "与户主关系" in text and "外星人" in text, text
    assert "652722198001011230" not in text  # the ID number is masked in the page

    # an export: the roll as .xlsx, opened with openpyxl
    await page.goto(f"{site}/exports")
    async with page.expect_download() as info:
        await page.locator("#export-roll-xlsx").click()
    download = await info.value
    book = openpyxl.load_workbook(io.BytesIO((await download.path()).read_bytes()))
    assert "证件号码" in [cell.value for cell in next(book.active.iter_rows(max_row=1))]
    # … and the households as CSV (UTF-8 with BOM, Chinese headers): the dashboard's 1,767
    # (every page of the roll, members included, through the registry's paginated export: allow time)
    async with page.expect_download(timeout=180_000) as info:
        await page.locator("#export-households-csv").click(timeout=180_000)
    raw = (await (await info.value).path()).read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 1 + 1767 and any("户" in header for header in rows[0])

    # the audit report is for auditors: the county office sees the service's refusal, not a 401
    await page.goto(f"{site}/audit")
    # … and its own 绩效考评: the score and each component
    assert re.search(r"总分：\s*\d+\.\d\d", await page.locator("#score").inner_text())
    assert await page.locator("table.score-components tr").count() >= 2
    await page.get_by_role("button", name="打开审计报告").click()
    assert "角色无权" in await page.locator(".problem").inner_text()

    await page.get_by_role("button", name="退出").click()
    await page.wait_for_url(re.compile(re.escape(f"{site}/login") + r"(\?|$)"))
    assert "已退出控制台" in await page.locator("#logged-out").inner_text()
    await page.goto(f"{site}/dashboard")
    assert page.url.startswith(f"{site}/login")  # the session is over


@pytest.mark.asyncio(loop_scope="session")
async def test_a_disbursement_batch_with_a_bad_row_is_named_and_not_sent(site, page, tmp_path):
    await log_in(page, site, "精河县财政局")
    await page.goto(f"{site}/uploads")
    batch = tmp_path / "拨付.csv"
    batch.write_bytes(BAD_BATCH)
    form = page.locator("#batch-upload")
    await form.locator("input[name=batch_ref]").fill("JH-2018-001")
    await form.locator("input[type=file]").set_input_files(str(batch))
    await form.locator("button").click()
    text = await page.locator("#upload-errors").inner_text()
    assert "金额（元）" in text and "12.345" in text and "未提交" in text


@pytest.mark.asyncio(loop_scope="session")
async def test_an_auditor_opens_the_audit_report(site, page):
    await log_in(page, site, "审计")
    await page.goto(f"{site}/audit?division=652722000000")
    # the audit replays every service's log (the county's 4,340 persons): allow it time on a busy machine
    async with page.expect_navigation(url=re.compile(r"/audit/report\?"), timeout=240_000):
        await page.get_by_role("button", name="打开审计报告").click(no_wait_after=True)
    html = await page.content()
    assert "<svg" in html and ("审计" in html or "audit" in html.lower())
