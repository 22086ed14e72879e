"""Logging in and the session.

- **Development**: the official picks one of the development identities (``shared.auth.DEV_IDENTITIES``);
  the console mints that identity's development token (the services verify it as any other).
- **Production** (``FUPIN_OIDC_ISSUER`` set): the OpenID Connect authorization-code flow with PKCE
  (S256), ``state`` and ``nonce`` (authlib's Starlette client). The provider's discovery document
  names its endpoints and JWKS; the ID token's signature, ``iss`` (the configured issuer), ``aud``
  (our client id), ``exp``/``iat`` and ``nonce`` are checked by authlib before anything is kept. The
  official's roles, division and department are read from the ID token through the claim mapping
  (``FUPIN_JWT_CLAIM_*``, ``shared.auth.principal_from_claims``); the access token — a JWT for the
  services' audience, verified by them against the same JWKS — is what the console forwards.

Logging out ends the console's session and, after an OpenID Connect login, the session at the
provider too (OpenID Connect RP-Initiated Logout 1.0) when its discovery document names an
``end_session_endpoint``: the browser is sent there with ``id_token_hint`` (the ID token of the
login, kept in the session for this), ``post_logout_redirect_uri`` (``/logout/done``), ``client_id``
and a fresh ``state``, which ``/logout/done`` checks before saying the provider's session ended.
A provider that names no such endpoint, or cannot be reached, leaves the local logout alone.

The session is Starlette's signed cookie (itsdangerous, HMAC-SHA1 over the content and a
timestamp): HttpOnly, SameSite=Lax, Secure outside development, expiring after
``FUPIN_CONSOLE_SESSION_SECONDS``; a tampered or expired cookie is no session. Every form that
writes carries the session's CSRF token (``csrf_token`` field or ``X-CSRF-Token`` header), checked
with a constant-time comparison before anything is sent to a service.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from fastapi import Request

from services.console.settings import ConsoleSettings
from shared.auth import DEV_IDENTITIES, Principal, dev_subject, issue_token, principal_from_claims
from shared.errors import Unauthorized

SESSION_COOKIE = "fupin_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRefused(Exception):
    """A login that cannot be accepted (the reason is shown on the login page, status 401)."""


class CsrfRefused(Exception):
    """A write without the session's CSRF token (403)."""


@dataclass(frozen=True)
class Official:
    """The logged-in official as the session holds it."""

    sub: str
    roles: tuple[str, ...]
    division: str
    dept: str | None
    token: str
    expires: int
    label: str

    @property
    def role(self) -> str:
        return self.roles[0]

    def has(self, *roles: str) -> bool:
        return bool(set(self.roles) & (set(roles) | {"admin"}))


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use: the login form has one too)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    expected = request.session.get("csrf")
    sent = sent or request.headers.get(CSRF_HEADER)
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfRefused("缺少或错误的CSRF令牌，请刷新页面后重试 (missing or wrong CSRF token)")


def current(request: Request) -> Official | None:
    """The logged-in official, or None (no session, or it has expired)."""
    who = request.session.get("who")
    if not who:
        return None
    if who["expires"] <= time.time():
        request.session.clear()
        return None
    return Official(sub=who["sub"], roles=tuple(who["roles"]), division=who["division"], dept=who.get("dept"),
                    token=who["token"], expires=who["expires"], label=who["label"])


def start_session(request: Request, principal: Principal, token: str, expires: int, label: str,
                  id_token: str | None = None) -> None:
    """A fresh session for ``principal`` (a new CSRF token: nothing from before the login survives);
    ``id_token``: the provider's ID token, the ``id_token_hint`` of the logout."""
    request.session.clear()
    request.session["who"] = {"sub": principal.sub, "roles": sorted(principal.roles), "division": principal.division,
                              "dept": principal.dept, "token": token, "expires": expires, "label": label}
    if id_token:
        request.session["id_token"] = id_token
    request.session["csrf"] = secrets.token_urlsafe(32)


async def end_session(request: Request, settings: ConsoleSettings, idp: Any | None) -> str | None:
    """End the console's session; return the provider's logout URL to send the browser to, or None
    (a development login, no ID token, or a provider without an ``end_session_endpoint``).

    The new, empty session keeps only the logout's ``state`` (checked by :func:`logout_returned`)."""
    id_token = request.session.get("id_token")
    request.session.clear()
    if idp is None or not id_token:
        return None
    try:
        endpoint = (await idp.load_server_metadata()).get("end_session_endpoint")
    except Exception:  # the provider is unreachable: the console's own session is over all the same
        return None
    if not endpoint:
        return None
    state = request.session["logout_state"] = secrets.token_urlsafe(24)
    query = {"id_token_hint": id_token, "client_id": settings.oidc_client_id, "state": state}
    if settings.post_logout_redirect_uri:
        query["post_logout_redirect_uri"] = settings.post_logout_redirect_uri
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"


def logout_returned(request: Request, state: str | None) -> bool:
    """Whether the provider came back from the logout this session started (its ``state``)."""
    expected = request.session.pop("logout_state", None)
    return bool(expected and state and hmac.compare_digest(expected.encode(), state.encode()))


def csp_form_action(settings: ConsoleSettings) -> str:
    """The Content-Security-Policy ``form-action`` sources: the console, and the provider's origin,
    where the logout form's redirect goes (browsers check a form's redirects against it too)."""
    if not settings.oidc_issuer:
        return "'self'"
    issuer = urlsplit(settings.oidc_issuer)
    return f"'self' {issuer.scheme}://{issuer.netloc}"


def dev_login(request: Request, settings: ConsoleSettings, index: int) -> None:
    if settings.env != "development":
        raise LoginRefused("开发登录仅限开发环境 (the development login is off outside development)")
    if not 0 <= index < len(DEV_IDENTITIES):
        raise LoginRefused("未知身份 (unknown identity)")
    label, role, division, dept = DEV_IDENTITIES[index]
    ttl = settings.console_session_seconds
    token = issue_token(settings, sub=dev_subject(role, division, dept), roles=[role], division=division, dept=dept,
                        ttl_seconds=ttl)
    principal = Principal(sub=dev_subject(role, division, dept), roles=frozenset([role]), division=division, dept=dept)
    start_session(request, principal, token, int(time.time()) + ttl, label)


def identity_provider(settings: ConsoleSettings) -> Any | None:
    """authlib's client of the configured provider, or None (development without one)."""
    if not settings.oidc_issuer:
        return None
    oauth = OAuth()
    return oauth.register(
        "idp", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "client_secret_basic" if settings.oidc_client_secret else "none"},
    )


def id_token_checks(settings: ConsoleSettings) -> dict[str, Any]:
    """authlib's claim checks of the ID token beyond its own (signature by the JWKS, ``aud`` = our
    client id, ``exp``, ``iat``, ``nonce`` = the session's, ``at_hash``): the issuer must be the
    configured one, and ``nonce`` and ``exp`` must be present."""
    return {"iss": {"essential": True, "value": settings.oidc_issuer}, "nonce": {"essential": True},
            "exp": {"essential": True}}


async def oidc_redirect(request: Request, settings: ConsoleSettings, idp: Any):
    extra = {"resource": settings.oidc_resource} if settings.oidc_resource else {}
    return await idp.authorize_redirect(request, settings.oidc_redirect_uri, **extra)


async def oidc_callback(request: Request, settings: ConsoleSettings, idp: Any) -> None:
    """Finish the flow: state (authlib: the session's), code → tokens (with the PKCE verifier), the ID
    token verified (signature by the provider's JWKS, issuer = the configured one, audience = our
    client id, not expired, nonce = the session's), then the session."""
    metadata = await idp.load_server_metadata()
    if metadata.get("issuer") != settings.oidc_issuer:
        raise LoginRefused(f"身份提供方的发现文档签发者不符 (discovery issuer {metadata.get('issuer')!r} is not "
                           f"{settings.oidc_issuer!r})")
    extra = {"resource": settings.oidc_resource} if settings.oidc_resource else {}
    try:
        token = await idp.authorize_access_token(request, claims_options=id_token_checks(settings), **extra)
    except OAuthError as exc:
        raise LoginRefused(f"登录失败 (login refused: {exc.error}{': ' + exc.description if exc.description else ''})") from None
    except Exception as exc:  # authlib/joserfc raise one class per failed check (signature, claim, expiry)
        raise LoginRefused(f"身份令牌无效 (ID token refused: {type(exc).__name__}: {exc})") from None
    claims = token.get("userinfo")
    if not claims:
        raise LoginRefused("身份提供方未返回身份令牌 (the provider returned no ID token)")
    try:
        principal = principal_from_claims(dict(claims), settings)
    except Unauthorized as exc:
        raise LoginRefused(exc.detail) from None
    access = token.get("access_token")
    if not access:
        raise LoginRefused("身份提供方未返回访问令牌 (the provider returned no access token)")
    expires = min(int(token.get("expires_at") or time.time() + 3600), int(time.time()) + settings.console_session_seconds)
    label = str(claims.get("name") or claims.get("preferred_username") or principal.sub)
    start_session(request, principal, access, expires, label, id_token=token.get("id_token"))
