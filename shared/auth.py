"""Bearer tokens (PyJWT) and the FastAPI dependencies that enforce role and jurisdiction (rule 10).

A token carries ``sub``, ``roles``, ``division`` (a division code; the caller's jurisdiction is
its prefix) and, for other departments, ``dept``. Development signs with an HS256 secret;
production verifies against the identity provider's JWKS (``FUPIN_JWT_JWKS_URL``).

A route names its caller with one of the ``Annotated`` aliases (FastAPI's dependency aliases):

- ``principal: Caller`` — any authenticated caller;
- ``principal: Reader(Role.county_office, ...)`` — one of these roles, auditors and admin too;
- ``principal: Writer(Role.county_office, ...)`` — one of these roles or admin; auditors refused.

``Reader``/``Writer`` return ``Annotated[Principal, Depends(require(...))]``. mypy reads only an
alias written out, so a module mypy checks spells it out once at module level
(``Official = Annotated[Principal, Depends(require(...))]``) and uses the name.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Awaitable, Callable, Iterable

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared import divisions
from shared.config import Settings
from shared.errors import Forbidden, Unauthorized


class Role(StrEnum):
    village = "village"
    township = "township"
    county_office = "county_office"
    county_finance = "county_finance"
    city_office = "city_office"
    city_finance = "city_finance"
    province_office = "province_office"
    province_finance = "province_finance"
    central_finance = "central_finance"
    department = "department"
    auditor = "auditor"
    admin = "admin"
    #: machine clients: one service reading another's event feed
    service = "service"


DEPARTMENTS = frozenset(
    {"civil_affairs", "education", "health", "human_resources", "disabled_persons", "housing"}
)

#: The division level each role works at (a token's division must be of that level).
ROLE_LEVEL: dict[Role, divisions.Level | None] = {
    Role.village: divisions.Level.VILLAGE,
    Role.township: divisions.Level.TOWNSHIP,
    Role.county_office: divisions.Level.COUNTY,
    Role.county_finance: divisions.Level.COUNTY,
    Role.city_office: divisions.Level.CITY,
    Role.city_finance: divisions.Level.CITY,
    Role.province_office: divisions.Level.PROVINCE,
    Role.province_finance: divisions.Level.PROVINCE,
    Role.central_finance: divisions.Level.CENTRAL,
    Role.department: None,
    Role.auditor: None,
    Role.admin: None,
    Role.service: None,
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    sub: str
    roles: frozenset[str]
    division: str
    dept: str | None = None
    issuer: str = ""

    def identity(self) -> str:
        """The whole principal — issuer, subject, roles, division, department — as one canonical
        string: two tokens that differ in any of them are different callers (idempotency scope)."""
        return json.dumps([self.issuer, self.sub, sorted(self.roles), self.division, self.dept],
                          ensure_ascii=False, separators=(",", ":"))

    @property
    def jurisdiction(self) -> str:
        return divisions.prefix(self.division)

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))

    def covers(self, division_code: str) -> bool:
        return divisions.within(division_code, self.division)

    def actor(self) -> dict[str, Any]:
        """What goes into an event's ``actor``."""
        actor: dict[str, Any] = {"sub": self.sub, "roles": sorted(self.roles), "division": self.division}
        if self.dept:
            actor["dept"] = self.dept
        return actor


SYSTEM = Principal(sub="system", roles=frozenset({"system"}), division=divisions.NATIONAL)


def check_claims(roles, division: str, dept: str | None, *, error: type[Exception]) -> None:
    """Known roles only, each at its own level (a county office holds a county code), and a
    department token names its department — for tokens we issue and tokens we accept alike."""
    for role in roles:
        try:
            known = Role(role)
        except ValueError:
            raise error(f"未知角色 (unknown role {role!r})") from None
        expected = ROLE_LEVEL[known]
        if expected is not None and divisions.level(division) != expected:
            raise error(f"角色与区划层级不符 (role {role} works at {expected.value} level; "
                        f"{division} is {divisions.level(division).value})")
    if Role.department in roles and dept not in DEPARTMENTS:
        raise error(f"部门令牌须注明部门 (department tokens need dept, one of {sorted(DEPARTMENTS)})")


#: Development identities (label, role, division, dept): printed as tokens by ``fupin dev up`` and
#: offered by the console's development login.
DEV_IDENTITIES: tuple[tuple[str, str, str, str | None], ...] = (
    ("中央财政 central finance", "central_finance", "000000000000", None),
    ("新疆财政厅 province finance", "province_finance", "650000000000", None),
    ("新疆扶贫办 province office", "province_office", "650000000000", None),
    ("博州财政局 city finance", "city_finance", "652700000000", None),
    ("精河县扶贫办 county office", "county_office", "652722000000", None),
    ("精河县财政局 county finance", "county_finance", "652722000000", None),
    ("托里镇 township", "township", "652722102000", None),
    ("村 village", "village", "652722102201", None),
    ("民政 department (civil affairs)", "department", "652722000000", "civil_affairs"),
    ("审计 auditor (national)", "auditor", "000000000000", None),
    ("admin", "admin", "000000000000", None),
)


def dev_subject(role: str, division: str, dept: str | None = None) -> str:
    """The subject of a development token: one per (role, division, department), so two dev
    tokens of one role in different counties are different callers."""
    return "-".join(["dev", role, divisions.normalize(division)] + ([dept] if dept else []))


def issue_token(
    settings: Settings,
    *,
    sub: str,
    roles: Iterable[str],
    division: str,
    dept: str | None = None,
    ttl_seconds: int = 12 * 3600,
) -> str:
    """A development token signed with the HS256 secret (refused in production)."""
    if settings.env == "production":
        raise RuntimeError("tokens are issued by the identity provider in production")
    roles = sorted(set(roles))
    division = divisions.normalize(division)
    check_claims(roles, division, dept, error=ValueError)
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub, "roles": roles, "division": division,
        "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "iat": now, "exp": now + ttl_seconds,
    }
    if dept:
        claims["dept"] = dept
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def service_token(settings: Settings) -> str:
    """The token a service presents to the others' event feeds."""
    return settings.service_token or issue_token(
        settings, sub=f"service:{settings.service}", roles=[Role.service], division=divisions.NATIONAL
    )


#: How many verified tokens a verifier remembers, and for how long at most (see TokenVerifier).
REMEMBERED = 4096
REMEMBER_SECONDS = 300.0


class TokenVerifier:
    """Verifies bearer tokens. A token verified before is not decoded again while it is valid:
    its principal is kept (up to :data:`REMEMBERED` tokens) until the earlier of its ``exp`` and
    :data:`REMEMBER_SECONDS` after its verification — a client sends one token with every request,
    and decoding it (base64, JSON, HMAC or a signature, the claims) cost ~0.1–0.2 ms a request.
    An expired token is refused as before. A token signed by a key the identity provider has
    withdrawn is refused at most 2 × :data:`REMEMBER_SECONDS` after the withdrawal: PyJWKClient
    keeps the key set it fetched for as long (the key verifies new tokens until the set is
    refreshed), and a token verified just before the refresh is remembered that long again
    (README, trust model: "Tokens")."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        if settings.env == "production" and self._jwks is None:
            raise RuntimeError("production needs FUPIN_JWT_JWKS_URL")
        self.local = self._jwks is None  # no I/O to verify: the development secret
        self._known: dict[str, tuple[Principal, float]] = {}  # token → (principal, valid until)
        self._remembering = threading.Lock()

    def known(self, token: str) -> Principal | None:
        """The principal of a token verified before and still valid, else None."""
        remembered = self._known.get(token)
        if remembered is None:
            return None
        if time.time() < remembered[1]:
            return remembered[0]
        self._known.pop(token, None)
        return None

    def verify(self, token: str) -> Principal:
        principal = self.known(token)
        if principal is not None:
            return principal
        principal, expires = self._decode(token)
        with self._remembering:  # JWKS verifications run in threads (see verified)
            if len(self._known) >= REMEMBERED:
                self._known.pop(next(iter(self._known)), None)  # the oldest
            self._known[token] = (principal, min(expires, time.time() + REMEMBER_SECONDS))
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256", "PS256", "EdDSA"]
            else:
                key, algorithms = self.settings.jwt_secret, ["HS256"]
            claims = jwt.decode(
                token, key, algorithms=algorithms, audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer, options={"require": ["sub", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"令牌无效 (invalid token: {exc})") from exc
        return principal_from_claims(claims, self.settings), float(claims["exp"])


def _claim(claims: dict[str, Any], name: str) -> Any:
    """A claim by name; ``a.b`` reads ``claims["a"]["b"]`` (Keycloak's ``realm_access.roles``)."""
    value: Any = claims
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def principal_from_claims(claims: dict[str, Any], settings: Settings) -> Principal:
    """The principal of verified claims, read through the claim mapping (``FUPIN_JWT_CLAIM_ROLES``,
    ``…_DIVISION``, ``…_DEPT``): the services' bearer tokens and the console's ID tokens alike."""
    roles, division = _claim(claims, settings.jwt_claim_roles), _claim(claims, settings.jwt_claim_division)
    if isinstance(roles, str):
        roles = roles.split()
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise Unauthorized("令牌缺少角色 (token has no roles claim)")
    try:
        division = divisions.normalize(str(division))
    except ValueError as exc:
        raise Unauthorized(f"令牌的区划代码无效 (token division: {exc})") from exc
    dept = _claim(claims, settings.jwt_claim_dept)
    dept = dept if isinstance(dept, str) else None
    check_claims(roles, division, dept, error=Unauthorized)
    return Principal(sub=str(claims["sub"]), roles=frozenset(roles), division=division, dept=dept,
                     issuer=str(claims.get("iss", "")))


_bearer = HTTPBearer(auto_error=False, description="JWT issued by `fupin token issue` in development")


async def verified(request: Request, token: str) -> Principal:
    """The principal of ``token``, verified once per request (the idempotency scope and the
    endpoint's dependencies ask for it; the answer is kept on the request). A JWKS look-up, which
    may fetch the identity provider's keys, runs in a thread; a development token is checked on
    the event loop (no thread hop)."""
    known = getattr(request.state, "verified_token", None)
    if known is not None and known[0] == token:
        return known[1]
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.known(token)
    if principal is None:
        principal = verifier.verify(token) if verifier.local else await asyncio.to_thread(verifier.verify, token)
    request.state.verified_token = (token, principal)
    return principal


async def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("需要身份令牌 (a bearer token is required)")
    principal = await verified(request, credentials.credentials)
    request.state.principal = principal
    return principal


def require(*roles: str, write: bool = False) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller holds one of ``roles`` (admin always passes).

    Auditors read everything in their jurisdiction and write nothing: they pass read
    dependencies by default and are refused on ``write=True`` ones.
    """
    allowed = frozenset({Role(r).value for r in roles} | {Role.admin.value} | (set() if write else {Role.auditor.value}))

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        return authorise(principal, allowed)

    # read by the idempotent route to authorise before a replay (a function attribute)
    dependency.allowed_roles = allowed  # type: ignore[attr-defined]
    return dependency


Caller = Annotated[Principal, Depends(current_principal)]


def Reader(*roles: str) -> Any:  # noqa: N802 — used as a type: ``principal: Reader(Role.village)``
    """The caller, holding one of ``roles`` (auditors and admin pass; 403 otherwise)."""
    return Annotated[Principal, Depends(require(*roles))]


def Writer(*roles: str) -> Any:  # noqa: N802 — used as a type: ``principal: Writer(Role.village)``
    """The caller, holding one of ``roles`` to write (admin passes, auditors do not; 403 otherwise)."""
    return Annotated[Principal, Depends(require(*roles, write=True))]


def authorise(principal: Principal, allowed: frozenset[str]) -> Principal:
    """The caller holds one of the ``allowed`` roles, else 403."""
    if not principal.has_any(allowed):
        raise Forbidden(
            f"角色无权执行此操作 (role {sorted(principal.roles)} may not do this; "
            f"needs one of {sorted(allowed)})"
        )
    return principal


def query_scope(principal: Principal, division: str | None) -> str:
    """The division a query covers: the one asked for, else the caller's own — refused (403)
    outside the caller's jurisdiction."""
    scope = division or principal.division
    ensure_jurisdiction(principal, scope)
    return scope


def ensure_jurisdiction(principal: Principal, division_code: str) -> None:
    """Refuse access to a record outside the caller's division prefix (403)."""
    if not principal.covers(division_code):
        raise Forbidden(
            f"记录不在管辖范围内 (record {division_code} is outside your jurisdiction {principal.division})",
            division=division_code,
        )
