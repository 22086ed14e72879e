"""The division's board, the archive and a notice on a phone, in a real browser (Debian's chromium,
Playwright): the pages the registry renders for 精河县, loaded at a phone's width — nothing wider
than the screen, tables read as cards (each cell with its column's name), the objection form usable."""

from __future__ import annotations

import pytest

from tests.e2e.test_console_browser import browser  # noqa: F401 (fixture: one chromium for the session)
from tests.service.test_public_board import stack, three_services  # noqa: F401 (fixture)

PHONE = {"width": 360, "height": 740}


async def _on_a_phone(browser, html: str):  # noqa: F811
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                        locale="zh-CN")
    page = await context.new_page()
    await page.set_content(html)
    return context, page


@pytest.mark.asyncio(loop_scope="session")
async def test_the_board_archive_and_a_notice_fit_a_phone(stack, browser):  # noqa: F811
    ids = await three_services(stack)
    await stack.feed_board()
    _, registry = stack.apps["registry"]
    pages = {"board": "/public/boards/652722", "archive": "/public/boards/652722/archive",
             "notice": f"/public/notices/{ids['funds']}"}
    for what, path in pages.items():
        html = (await registry.get(path)).text
        context, page = await _on_a_phone(browser, html)
        try:
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (what, width)  # no sideways scrolling
            cells = page.locator(".table-wrap td[data-label]")
            assert await cells.count() > 0, what
            first = cells.first
            label = await first.evaluate("cell => getComputedStyle(cell, '::before').content")
            assert (await first.get_attribute("data-label")) in label, (what, label)  # a card: 金额（元）：120000.00
            assert await first.evaluate("cell => getComputedStyle(cell).display") == "block", what
            if what != "archive":
                form = page.locator("form.objection").first
                box = await form.locator("button[type=submit]").bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (what, box)
        finally:
            await context.close()
