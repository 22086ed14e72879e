"""The console's settings: the common ones (``FUPIN_ENV``, the services' URLs, the JWT claim mapping)
plus its session and its identity provider (``FUPIN_CONSOLE_*``, ``FUPIN_OIDC_*``)."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urljoin

from pydantic import AliasChoices, Field, model_validator

from shared.config import Settings

DEV_SESSION_SECRET = "fupin-console-development-session-secret"


class ConsoleSettings(Settings):
    service: ClassVar[str] = "console"
    port: int = Field(8100, validation_alias=AliasChoices("FUPIN_CONSOLE_PORT"))
    console_session_secret: str = Field(
        DEV_SESSION_SECRET, description="signs the console's session cookie (itsdangerous); production needs its own")
    console_session_seconds: int = Field(8 * 3600, ge=60, le=7 * 24 * 3600,
                                         description="a console session (and its cookie) expires after this long")
    console_cookie_secure: bool | None = Field(
        None, description="Secure flag on the session cookie; unset: on outside development")
    oidc_issuer: str | None = Field(
        None, description="OpenID Connect issuer of the identity provider; its discovery document is "
        "<issuer>/.well-known/openid-configuration. Set: the console's login is the authorization-code flow")
    oidc_client_id: str | None = Field(None, description="the console's client id at the identity provider")
    oidc_client_secret: str | None = Field(None, description="the console's client secret at the identity provider")
    oidc_redirect_uri: str | None = Field(
        None, description="where the provider sends the official back: https://<console>/auth/callback")
    oidc_scope: str = Field("openid profile", description="scopes asked for at login")
    oidc_post_logout_redirect_uri: str | None = Field(
        None, description="where the provider sends the official after logging out there (RP-Initiated Logout); "
        "unset: /logout/done beside FUPIN_OIDC_REDIRECT_URI. Register it with the provider")
    oidc_resource: str | None = Field(
        None, description="resource indicator (RFC 8707) asked for, so the access token is a JWT for the services' "
        "audience (FUPIN_JWT_AUDIENCE)")

    @model_validator(mode="after")
    def _production_needs_an_identity_provider(self):
        if self.env == "production":
            missing = [name for name in ("oidc_issuer", "oidc_client_id", "oidc_redirect_uri") if not getattr(self, name)]
            if missing or self.console_session_secret == DEV_SESSION_SECRET:
                raise ValueError("FUPIN_ENV=production: the console needs FUPIN_OIDC_ISSUER, FUPIN_OIDC_CLIENT_ID, "
                                 "FUPIN_OIDC_REDIRECT_URI and its own FUPIN_CONSOLE_SESSION_SECRET")
        return self

    @property
    def post_logout_redirect_uri(self) -> str | None:
        if self.oidc_post_logout_redirect_uri or not self.oidc_redirect_uri:
            return self.oidc_post_logout_redirect_uri
        return urljoin(self.oidc_redirect_uri, "/logout/done")

    @property
    def cookie_secure(self) -> bool:
        return self.env != "development" if self.console_cookie_secure is None else self.console_cookie_secure
