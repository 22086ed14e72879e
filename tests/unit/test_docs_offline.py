"""/docs and /redoc work on a county intranet: every script and stylesheet comes from the service."""

import socket
from html.parser import HTMLParser

import httpx
import pytest

from shared.config import SERVICES, settings_for


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_page_and_its_assets_load_from_the_service_with_the_network_off(service, page, no_network):
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    app = module.create_app(settings_for(service, database_url="postgresql://x@127.0.0.1/x"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        answer = await client.get(page)
        assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
        parser = _Assets()
        parser.feed(answer.text)
        assert len(parser.urls) >= 1 + (page == "/docs")  # Swagger UI: its script and its stylesheet
        assert all(url.startswith("/") and not url.startswith("//") for url in parser.urls), parser.urls
        assert "cdn" not in answer.text.lower()
        for url in parser.urls:
            asset = await client.get(url)
            assert asset.status_code == 200 and len(asset.content) > 1000, url
        spec = await client.get("/openapi.json")
        assert spec.status_code == 200 and spec.json()["info"]["title"]
