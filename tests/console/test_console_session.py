"""The console's development login, session cookie and CSRF checks (in-process; no service needed:
an unreachable service is shown in the page as a 503 problem)."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from itsdangerous import TimestampSigner

from services.console.app import create_app
from services.console.login import SESSION_COOKIE
from services.console.settings import ConsoleSettings
from shared.auth import DEV_IDENTITIES, TokenVerifier
from shared.config import settings_for

COUNTY_OFFICE = next(i for i, ident in enumerate(DEV_IDENTITIES) if ident[1] == "county_office")
UNREACHABLE = {f"{s}_url": "http://127.0.0.1:9" for s in ("registry", "funds", "projects", "audit")}


def console_settings(**overrides) -> ConsoleSettings:
    return ConsoleSettings(**{**UNREACHABLE, **overrides})


@pytest.fixture
async def console():
    app = create_app(console_settings())
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def log_in(client: httpx.AsyncClient, identity: int = COUNTY_OFFICE) -> httpx.Response:
    page = await client.get("/login")
    return await client.post("/login/dev", data={"identity": str(identity), "csrf_token": csrf_of(page.text)})


async def test_pages_need_a_login(console):
    for path in ("/dashboard", "/households", "/funds", "/uploads", "/audit", "/exports", "/exports/roll"):
        response = await console.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path


async def test_dev_login_gives_a_secure_session_cookie_and_the_identity(console):
    response = await log_in(console)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(SESSION_COOKIE + "=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "max-age=" in cookie.lower()
    assert "secure" not in cookie.lower().replace("samesite", "")  # development runs on http://localhost
    page = await console.get("/dashboard")
    assert page.status_code == 200
    assert "精河县扶贫办" in page.text and "县扶贫办" in page.text and "652722000000" in page.text
    # the services cannot be reached here: each figure says so in the page instead of failing it
    assert "registry服务无法连接" in page.text and "funds服务无法连接" in page.text
    assert "projects服务无法连接" in page.text and 'id="announcement-figures"' in page.text


async def test_after_the_login_the_page_asked_for(console):
    asked = await console.get("/households", params={"name": "张三"})
    assert asked.status_code == 303 and asked.headers["location"] == "/login"
    response = await log_in(console)
    assert response.headers["location"] == "/households?name=%E5%BC%A0%E4%B8%89"


async def test_the_token_forwarded_is_the_identity_picked(console):
    await log_in(console)
    app = console._transport.app
    seen = {}

    async def grab(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/catalogue":  # the code lists are public: asked without a token
            seen["auth"] = request.headers["authorization"]
        return httpx.Response(403, json={"status": 403, "title": "Forbidden", "detail": "记录不在管辖范围内 (outside)"})

    for client in app.state.backend.clients.values():
        client._transport = httpx.MockTransport(grab)
    page = await console.get("/households", params={"name": "张三", "division": "652701000000"})
    assert "记录不在管辖范围内" in page.text  # the service's refusal, shown in the page
    principal = TokenVerifier(settings_for("registry")).verify(seen["auth"].removeprefix("Bearer "))
    assert principal.roles == {"county_office"} and principal.division == "652722000000"


async def test_a_write_without_the_csrf_token_is_refused(console):
    await log_in(console)
    for data in ({}, {"csrf_token": "forged"}):
        response = await console.post("/logout", data=data)
        assert response.status_code == 403 and "CSRF" in response.text
        assert (await console.get("/dashboard")).status_code == 200  # still logged in
    upload = await console.post("/uploads/registry", files={"file": ("roll.csv", b"a,b\n")})
    assert upload.status_code == 403
    page = await console.get("/uploads")
    response = await console.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    assert (await console.get("/dashboard")).status_code == 303


async def test_the_login_form_itself_needs_the_csrf_token(console):
    await console.get("/login")
    response = await console.post("/login/dev", data={"identity": str(COUNTY_OFFICE)})
    assert response.status_code == 403 and SESSION_COOKIE not in response.headers.get("set-cookie", "who")


async def test_a_tampered_or_foreign_cookie_is_no_session(console):
    await log_in(console)
    value = console.cookies[SESSION_COOKIE]
    payload, rest = value.split(".", 1)
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    console.cookies.set(SESSION_COOKIE, flipped + "." + rest)
    assert (await console.get("/dashboard")).status_code == 303
    # signed with another secret: refused as well
    forged = TimestampSigner("not-the-console-secret").sign(payload.encode()).decode()
    console.cookies.set(SESSION_COOKIE, forged)
    assert (await console.get("/dashboard")).status_code == 303


async def test_an_expired_session_is_no_session(console, monkeypatch):
    await log_in(console)
    later = time.time() + ConsoleSettings().console_session_seconds + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert (await console.get("/dashboard")).status_code == 303


async def test_bad_parameters_are_a_page_naming_the_field(console):
    await log_in(console)
    response = await console.get("/dashboard", params={"year": "二〇一八"})
    assert response.status_code == 422 and "text/html" in response.headers["content-type"]
    assert "year" in response.text and "请求参数无效" in response.text


async def test_security_headers(console):
    response = await console.get("/login")
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_unknown_identity_is_refused(console):
    page = await console.get("/login")
    response = await console.post("/login/dev", data={"identity": "99", "csrf_token": csrf_of(page.text)})
    assert response.status_code == 401 and "未知身份" in response.text


def test_production_refuses_the_dev_login_and_needs_a_provider():
    with pytest.raises(ValueError, match="FUPIN_OIDC_ISSUER"):
        ConsoleSettings(env="production", jwt_jwks_url="http://idp/jwks", service_token="t")
    settings = console_settings(env="production", jwt_jwks_url="http://idp/jwks", service_token="t",
                                oidc_issuer="http://idp", oidc_client_id="console",
                                oidc_redirect_uri="https://console/auth/callback", console_session_secret="s" * 32)
    assert settings.cookie_secure


async def test_production_login_page_offers_only_the_provider_and_the_cookie_is_secure():
    settings = console_settings(env="production", jwt_jwks_url="http://idp/jwks", service_token="t",
                                oidc_issuer="http://idp", oidc_client_id="console",
                                oidc_redirect_uri="https://console/auth/callback", console_session_secret="s" * 32)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://console") as client:
            page = await client.get("/login")
            assert "/login/oidc" in page.text and "dev-login" not in page.text
            assert "secure" in page.headers["set-cookie"].lower().replace("samesite", "")
            refused = await client.post("/login/dev", data={"identity": str(COUNTY_OFFICE), "csrf_token": csrf_of(
                page.text) if "csrf_token" in page.text else ""})
            assert refused.status_code in (401, 403)


async def test_pages_write_divisions_by_name_and_codes_by_label():
    """Names from the registry's divisions (asked once each, with the official's token), labels from the
    services' catalogues: a household reads 托里镇永集湖村, 因残, 户主, 男 — not 652722102201, disability."""
    asked: list[str] = []
    names = {"652722102201": "永集湖村", "652722102000": "托里镇", "652722000000": "精河县", "652700000000": "博尔塔拉蒙古自治州",
             "650000000000": "新疆维吾尔自治区"}
    catalogue = {"registry": [{"name": "cause", "codes": [{"code": "disability", "zh": "因残"}]},
                              {"name": "relation", "codes": [{"code": "head", "zh": "户主"}]},
                              {"name": "poverty_attribute", "codes": [{"code": "dibao", "zh": "低保贫困户"}]}]}

    def services(request: httpx.Request) -> httpx.Response:
        path, host = request.url.path, request.url.port
        asked.append(path)
        if path == "/catalogue":
            lists = catalogue.get({8101: "registry"}.get(host, ""), [])
            return httpx.Response(200, json={"service": "x", "lists": [{"zh": "", "en": "", "fields": [], "citation": None,
                                                                        **each} for each in lists]})
        if path.startswith("/divisions/"):
            code = path.rsplit("/", 1)[1]
            assert request.headers["authorization"].startswith("Bearer ")
            if code not in names:
                return httpx.Response(404, json={"status": 404, "detail": "no such division"})
            return httpx.Response(200, json={"code": code, "name": names[code], "as_of": {"name": names[code]}})
        if path == "/households/h1":
            return httpx.Response(200, json={"id": "h1", "number": "6527221022010001", "division": "652722102201",
                                             "status_label": "已建档立卡", "poverty_attribute": "dibao",
                                             "main_cause": "disability", "helper": {"name": "马建军"},
                                             "members": [{"name": "李华明", "relation": "head", "sex": "male",
                                                          "id_number": "652722********0012", "birth_date": "1945-01-05"}]})
        return httpx.Response(404, json={"status": 404, "detail": "not here"})

    app = create_app(console_settings(registry_url="http://127.0.0.1:8101", funds_url="http://127.0.0.1:8102",
                                      projects_url="http://127.0.0.1:8103"), transport=httpx.MockTransport(services))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as console:
            await log_in(console)
            page = await console.get("/households/h1")
            assert page.status_code == 200, page.text
            text = re.sub(r"<[^>]+>", " ", page.text)
            assert "托里镇永集湖村" in text and not re.search(r"(?<!\d)652722102201(?!\d)", text)
            assert "因残" in text and "低保贫困户" in text and "户主" in text and " 男 " in text
            assert "disability" not in text and "dibao" not in text
            assert "县扶贫办 · 精河县" in text  # the official's own division by name
            once = list(asked)
            await console.get("/households/h1")
            assert [p for p in asked[len(once):] if p.startswith(("/divisions/", "/catalogue"))] == []  # kept


async def test_the_audit_page_shows_the_divisions_score_by_component():
    """The audit service's /audit/scores answer ({items: [{division, score, components}]}) read as it is."""
    answer = {"year": 2018, "rule": {"id": "division.performance.score", "title": "扶贫资金绩效考评分(满分100)",
                                     "citation": "财农〔2017〕115号"},
              "items": [{"division": "652722000000", "year": 2018, "score": "82.50", "inputs": {},
                         "components": [{"component": "deadlines_met", "label": "按期拨付", "weight": 15,
                                         "ratio_percent": "100.00", "points": "15.00", "basis": "3 of 3 met"},
                                        {"component": "spending_progress", "label": "支出进度", "weight": 20,
                                         "ratio_percent": "23.67", "points": "4.73", "basis": "1349000.00 of 5700000.00"}]}]}

    def services(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/audit/scores":
            return httpx.Response(200, json=answer)
        if request.url.path == "/dev/clock":
            return httpx.Response(200, json={"now": "2018-12-31T02:00:00+00:00", "today": "2018-12-31"})
        return httpx.Response(404, json={"status": 404, "detail": "not here"})

    app = create_app(console_settings(), transport=httpx.MockTransport(services))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as console:
            await log_in(console)
            page = await console.get("/audit")
            text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
            assert "总分： 82.50" in text
            assert "按期拨付 15 100.00 15.00 3 of 3 met" in text and "支出进度 20 23.67 4.73" in text
            assert "财农〔2017〕115号" in text
