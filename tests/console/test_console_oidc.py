"""The console's OpenID Connect login against a real OpenID provider: panva/oidc-provider (OpenID
Certified; tests/console/oidc/provider.mjs) run by node for the test session, its npm package
installed into tests/console/oidc/ when missing.

The whole authorization-code flow (PKCE S256, state, nonce; the provider's own login and consent
pages), the claim mapping (the provider's ``fupin_roles``/``fupin_division`` claims), the access
token the console forwards verified by a service's token verifier against the provider's JWKS; and
the refusals: a changed or replayed state, a discovery document of another issuer, and ID tokens —
signed with the provider's own key — of the wrong nonce, issuer or audience, expired, or signed by
another key."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from deploy.embedded import free_port
from services.console.app import create_app
from services.console.login import SESSION_COOKIE, id_token_checks, identity_provider
from services.console.settings import ConsoleSettings
from shared.auth import TokenVerifier
from shared.config import settings_for
from tests.console.test_console_session import UNREACHABLE
from tests.seeds import in_ci

HERE = Path(__file__).parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "fupin-console", "console-test-secret"
REDIRECT = "http://console.test/auth/callback"
AFTER_LOGOUT = "http://console.test/logout/done"
RESOURCE, AUDIENCE = "https://fupin.example/api", "fupin"
ACCOUNTS = {
    "jinghe-office": {"name": "古丽娜尔", "fupin_roles": ["county_office"], "fupin_division": "652722000000"},
    "no-roles": {"name": "无角色", "fupin_division": "652722000000"},
}
MAPPING = {"jwt_claim_roles": "fupin_roles", "jwt_claim_division": "fupin_division", "jwt_claim_dept": "fupin_dept"}

if not shutil.which("node") or not shutil.which("npm"):  # the OpenID provider runs under node; CI has it
    if in_ci():
        pytest.fail("node and npm are needed for the OpenID provider of the login tests", pytrace=False)
    pytest.skip("node and npm are needed", allow_module_level=True)


def _private_jwk() -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.pop("key_ops", None)  # PyJWT marks a private JWK "sign"; the provider would publish that as is
    return {**jwk, "kid": "fupin-test-1", "use": "sig", "alg": "RS256"}


@pytest.fixture(scope="module")
def provider():
    """node tests/console/oidc/provider.mjs on a free port; yields (issuer, private JWK)."""
    with running_provider(REDIRECT, AFTER_LOGOUT) as started:
        yield started


@contextlib.contextmanager
def running_provider(redirect: str, after_logout: str):
    """The provider for a console whose redirect URIs are these; yields (issuer, private JWK)."""
    if not (HERE / "node_modules" / "oidc-provider").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, capture_output=True, timeout=300)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = _private_jwk()
    env = {**os.environ, "PORT": str(port), "ISSUER": issuer, "JWKS": json.dumps({"keys": [key]}),
           "ACCOUNTS": json.dumps(ACCOUNTS), "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
           "REDIRECT_URI": redirect, "POST_LOGOUT_REDIRECT_URI": after_logout, "RESOURCE": RESOURCE,
           "AUDIENCE": AUDIENCE}
    process = subprocess.Popen(["node", "provider.mjs"], cwd=HERE, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        said = []
        while not (said and said[-1].startswith("ready")):  # after the provider's development warnings
            line = process.stdout.readline()
            assert line, "the provider exited:\n" + "".join(said)
            said.append(line)
        yield issuer, key
    finally:
        process.terminate()
        process.wait(10)


def settings_of(issuer: str, **overrides) -> ConsoleSettings:
    return ConsoleSettings(**{**UNREACHABLE, **MAPPING, "oidc_issuer": issuer, "oidc_client_id": CLIENT_ID,
                              "oidc_client_secret": CLIENT_SECRET, "oidc_redirect_uri": REDIRECT,
                              "oidc_scope": "openid profile fupin", "oidc_resource": RESOURCE, **overrides})


async def at_provider(authorize_url: str, account: str, browser: httpx.AsyncClient | None = None) -> str:
    """The official at the provider: its login page (any password), then its consent page; returns the
    URL the provider sends the browser back to (our redirect URI with code and state). ``browser``: the
    official's browser at the provider, whose cookies (the provider's session) outlive the login."""
    async with contextlib.nullcontext(browser) if browser else httpx.AsyncClient() as browser:
        url = authorize_url
        for _ in range(12):
            response = await browser.get(url)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["location"])
                if url.startswith(REDIRECT):
                    return url
                continue
            action = urljoin(url, re.search(r'<form[^>]*action="([^"]+)"', response.text).group(1))
            prompt = re.search(r'name="prompt" value="(\w+)"', response.text).group(1)
            data = {"prompt": prompt} | ({"login": account, "password": "any"} if prompt == "login" else {})
            response = await browser.post(action, data=data)
            assert response.status_code in (302, 303), response.text
            url = urljoin(action, response.headers["location"])
            if url.startswith(REDIRECT):
                return url
    raise AssertionError("the provider never sent the browser back")


async def start_login(console: httpx.AsyncClient) -> str:
    response = await console.get("/login/oidc")
    assert response.status_code == 302
    return response.headers["location"]


@pytest.fixture
async def console_for(provider):
    clients = []

    async def make(**overrides) -> httpx.AsyncClient:
        app = create_app(settings_of(provider[0], **overrides))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
        clients.append((client, lifespan))
        return client

    yield make
    for client, lifespan in clients:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def test_the_authorization_code_flow_logs_the_official_in(provider, console_for):
    issuer, _ = provider
    console = await console_for()
    authorize = await start_login(console)
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(issuer + "/auth?")
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0] and query["redirect_uri"] == [REDIRECT]
    back = await at_provider(authorize, "jinghe-office")
    done = await console.get(back[len("http://console.test"):])
    assert done.status_code == 303 and done.headers["location"] == "/dashboard", done.text
    page = await console.get("/dashboard")
    assert page.status_code == 200 and "古丽娜尔" in page.text and "县扶贫办" in page.text
    # the access token the console forwards: a JWT the services accept against the provider's JWKS
    session_token = await _forwarded_token(console)
    verifier = TokenVerifier(settings_for("registry", jwt_jwks_url=f"{issuer}/jwks", jwt_issuer=issuer,
                                          jwt_audience=AUDIENCE, **MAPPING))
    principal = verifier.verify(session_token)
    assert principal.roles == {"county_office"} and principal.division == "652722000000"
    assert principal.sub == "jinghe-office" and principal.issuer == issuer


async def _forwarded_token(console: httpx.AsyncClient) -> str:
    app = console._transport.app
    seen = {}

    async def grab(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/catalogue":  # the code lists are public: asked without a token
            seen["token"] = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(404, json={"status": 404, "detail": "x"})

    for client in app.state.backend.clients.values():
        client._transport = httpx.MockTransport(grab)
    await console.get("/households", params={"name": "张三"})
    return seen["token"]


async def test_a_changed_state_is_refused(provider, console_for):
    console = await console_for()
    back = await at_provider(await start_login(console), "jinghe-office")
    forged = re.sub(r"state=[^&]+", "state=forged-state", back)
    refused = await console.get(forged[len("http://console.test"):])
    assert refused.status_code == 401 and "state" in refused.text.lower()
    assert (await console.get("/dashboard")).status_code == 303


async def test_a_replayed_callback_is_refused(provider, console_for):
    console = await console_for()
    back = await at_provider(await start_login(console), "jinghe-office")
    assert (await console.get(back[len("http://console.test"):])).status_code == 303
    again = await console.get(back[len("http://console.test"):])
    assert again.status_code == 401  # the state was used up (and the provider would refuse the code)


async def test_a_callback_from_another_browser_is_refused(provider, console_for):
    """The state lives in the session that started the login: a callback (code and state) carried to
    another browser — login CSRF — is refused there."""
    started, other = await console_for(), await console_for()
    back = await at_provider(await start_login(started), "jinghe-office")
    refused = await other.get(back[len("http://console.test"):])
    assert refused.status_code == 401


async def test_an_official_without_roles_is_refused(provider, console_for):
    console = await console_for()
    back = await at_provider(await start_login(console), "no-roles")
    refused = await console.get(back[len("http://console.test"):])
    assert refused.status_code == 401 and "角色" in refused.text
    assert (await console.get("/dashboard")).status_code == 303


async def test_a_discovery_document_of_another_issuer_is_refused(provider, console_for):
    issuer, _ = provider
    other = issuer.replace("127.0.0.1", "localhost")  # same server, so its document names 127.0.0.1
    console = await console_for(oidc_issuer=other)
    back = await at_provider(await start_login(console), "jinghe-office")
    refused = await console.get(back[len("http://console.test"):])
    assert refused.status_code == 401 and "issuer" in refused.text


def _id_token(key: dict, issuer: str, **changes) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "sub": "jinghe-office", "aud": CLIENT_ID, "iat": now, "exp": now + 300,
              "nonce": "the-nonce", **ACCOUNTS["jinghe-office"], **changes}
    signing = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key))
    return jwt.encode(claims, signing, algorithm="RS256", headers={"kid": key["kid"]})


@pytest.mark.parametrize("changes, why", [
    ({}, None),
    ({"nonce": "another-nonce"}, "nonce"),
    ({"iss": "http://evil.example"}, "iss"),
    ({"aud": "another-client"}, "aud|azp"),  # our client id is not an audience (nor the authorised party)
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
])
async def test_id_tokens_are_checked(provider, changes, why):
    """ID tokens signed with the provider's own key, through the checks the callback makes."""
    issuer, key = provider
    settings = settings_of(issuer)
    idp = identity_provider(settings)
    token = {"id_token": _id_token(key, issuer, **changes)}
    if why is None:
        claims = await idp.parse_id_token(token, "the-nonce", claims_options=id_token_checks(settings))
        assert claims["fupin_division"] == "652722000000"
        return
    with pytest.raises(Exception, match=re.compile(why, re.I)):
        await idp.parse_id_token(token, "the-nonce", claims_options=id_token_checks(settings))


async def test_an_id_token_signed_by_another_key_is_refused(provider):
    issuer, _ = provider
    settings = settings_of(issuer)
    idp = identity_provider(settings)
    forged = _id_token({**_private_jwk(), "kid": "fupin-test-1"}, issuer)
    with pytest.raises(Exception, match=re.compile("signature", re.I)):
        await idp.parse_id_token({"id_token": forged}, "the-nonce", claims_options=id_token_checks(settings))


async def _logged_in(console: httpx.AsyncClient, browser: httpx.AsyncClient) -> None:
    back = await at_provider(await start_login(console), "jinghe-office", browser)
    assert (await console.get(back[len("http://console.test"):])).status_code == 303
    assert (await console.get("/dashboard")).status_code == 200
    # the session keeps the access and the ID token: still one cookie a browser keeps (at most 4096 bytes)
    assert len(f"{SESSION_COOKIE}={console.cookies[SESSION_COOKIE]}") < 4000


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_logout_ends_the_session_here_and_at_the_provider(provider, console_for):
    """RP-Initiated Logout: the console's session ends, the browser goes to the provider's
    end_session_endpoint with the ID token of the login, our post-logout URI and a state; the official
    confirms there, comes back, and the next login asks for the password again."""
    issuer, _ = provider
    console = await console_for()
    async with httpx.AsyncClient() as browser:
        await _logged_in(console, browser)
        page = await console.get("/dashboard")
        left = await console.post("/logout", data={"csrf_token": _csrf(page.text)})
        assert left.status_code == 303
        end = left.headers["location"]
        query = parse_qs(urlsplit(end).query)
        discovery = (await browser.get(f"{issuer}/.well-known/openid-configuration")).json()
        assert end.startswith(discovery["end_session_endpoint"] + "?")
        assert query["post_logout_redirect_uri"] == [AFTER_LOGOUT] and query["client_id"] == [CLIENT_ID]
        hint = jwt.decode(query["id_token_hint"][0], options={"verify_signature": False})
        assert hint["iss"] == issuer and hint["aud"] == CLIENT_ID and hint["sub"] == "jinghe-office"
        state = query["state"][0]
        assert len(state) >= 20
        assert (await console.get("/dashboard")).status_code == 303  # the console's session is over already

        confirm = await browser.get(end)  # the provider asks the official to confirm
        assert confirm.status_code == 200, confirm.text
        form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', confirm.text, re.S)
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(2)))
        back = await browser.post(urljoin(end, form.group(1)), data={**fields, "logout": "yes"})
        assert back.status_code in (302, 303) and back.headers["location"].startswith(AFTER_LOGOUT + "?")
        assert parse_qs(urlsplit(back.headers["location"]).query)["state"] == [state]
        done = await console.get(back.headers["location"][len("http://console.test"):])
        assert done.status_code == 303 and done.headers["location"] == "/login?logged_out=provider"
        shown = await console.get(done.headers["location"])
        assert "已退出统一身份认证" in shown.text
        # the provider's session is gone: logging in again asks for the password, not only for consent
        again = await browser.get(await start_login(console))
        while again.status_code in (302, 303):
            again = await browser.get(urljoin(str(again.url), again.headers["location"]))
        assert 'name="prompt" value="login"' in again.text


async def test_a_logout_return_without_our_state_claims_nothing(provider, console_for):
    console = await console_for()
    async with httpx.AsyncClient() as browser:
        await _logged_in(console, browser)
        page = await console.get("/dashboard")
        left = await console.post("/logout", data={"csrf_token": _csrf(page.text)})
        assert left.status_code == 303 and "state=" in left.headers["location"]
    forged = await console.get("/logout/done", params={"state": "forged"})
    assert forged.headers["location"] == "/login?logged_out=console"
    assert (await console.get("/logout/done")).headers["location"] == "/login?logged_out=console"


async def test_a_provider_without_an_end_session_endpoint_logs_out_here_only(provider, console_for, monkeypatch):
    console = await console_for()
    async with httpx.AsyncClient() as browser:
        await _logged_in(console, browser)
    idp = console._transport.app.state.idp
    metadata = {k: v for k, v in (await idp.load_server_metadata()).items() if k != "end_session_endpoint"}
    monkeypatch.setattr(idp, "server_metadata", metadata)
    page = await console.get("/dashboard")
    left = await console.post("/logout", data={"csrf_token": _csrf(page.text)})
    assert left.status_code == 303 and left.headers["location"] == "/login?logged_out=console"
    assert (await console.get("/dashboard")).status_code == 303


def test_the_provider_is_an_allowed_form_target_for_the_logout_redirect(provider):
    """Browsers check where a form's redirect goes against the page's CSP form-action."""
    from services.console.app import content_security_policy
    issuer, _ = provider
    assert f"form-action 'self' {issuer};" in content_security_policy(settings_of(issuer))
    assert "form-action 'self';" in content_security_policy(settings_of(issuer, oidc_issuer=None))
