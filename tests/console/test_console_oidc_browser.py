"""The OpenID Connect login and logout in a real browser (Debian's chromium, Playwright): the console
served by uvicorn, the provider (panva/oidc-provider) under node. What only a browser checks: the
logout form's redirect to the provider passes the page's Content-Security-Policy ``form-action``, the
provider's session cookie is really ended, and the official comes back to the console."""

from __future__ import annotations

import asyncio
import re

import pytest
import pytest_asyncio
import uvicorn

from deploy.embedded import free_port
from services.console.app import create_app
from shared.web.serve import server_config
from tests.console.test_console_oidc import running_provider, settings_of
from tests.e2e.test_console_browser import browser  # noqa: F401 (fixture: one chromium for the session)
from tests.stack import wait_until


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site():
    """(console URL, issuer): the console on a free port and a provider that knows its redirect URIs."""
    port = free_port()
    console = f"http://127.0.0.1:{port}"
    with running_provider(f"{console}/auth/callback", f"{console}/logout/done") as (issuer, _):
        settings = settings_of(issuer, oidc_redirect_uri=f"{console}/auth/callback")
        server = uvicorn.Server(server_config(create_app(settings), settings, host="127.0.0.1", port=port, lifespan="on",
                                             timeout_graceful_shutdown=2))
        task = asyncio.create_task(server.serve())
        await wait_until(lambda: asyncio.sleep(0, server.started), 30)
        try:
            yield console, issuer
        finally:
            server.should_exit = True
            await task


async def sign_in_at_the_provider(page, console: str) -> None:
    await page.goto(f"{console}/login")
    await page.locator("#oidc-login").click()
    await page.locator("input[name=login]").fill("jinghe-office")
    await page.locator("input[name=password]").fill("any")
    await page.get_by_role("button", name="Sign-in").click()
    consent = page.get_by_role("button", name="Continue")
    await consent.wait_for()
    await consent.click()
    await page.wait_for_url(f"{console}/dashboard")


@pytest.mark.asyncio(loop_scope="session")
async def test_an_official_logs_out_of_the_console_and_the_provider(site, browser):  # noqa: F811
    console, issuer = site
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(30_000)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    try:
        await sign_in_at_the_provider(page, console)
        assert "古丽娜尔" in await page.locator("#who").inner_text()
        await page.get_by_role("button", name="退出").click()
        # at the provider: it asks to confirm the logout (the form's redirect went through the CSP)
        confirm = page.get_by_role("button", name="Yes, sign me out")
        await confirm.wait_for()
        assert page.url.startswith(issuer)
        await confirm.click()
        await page.wait_for_url(re.compile(re.escape(f"{console}/login?logged_out=provider")))
        assert "已退出统一身份认证" in await page.locator("#logged-out").inner_text()
        assert not refused, refused
        # the provider's session ended too: logging in again asks for the password
        await page.locator("#oidc-login").click()
        await page.locator("input[name=login]").wait_for()
        assert page.url.startswith(issuer)
    finally:
        await context.close()
