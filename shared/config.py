"""Settings: one pydantic-settings object per service, every variable prefixed ``FUPIN_``.

Settings common to all services are read from ``FUPIN_<NAME>`` (``FUPIN_DATABASE_URL``,
``FUPIN_KAFKA_BOOTSTRAP`` …).  What differs per service — its port and its database — is read
from ``FUPIN_<SERVICE>_<NAME>`` (``FUPIN_FUNDS_PORT``, ``FUPIN_FUNDS_DATABASE``), so one
environment can configure all four services at once (the runner and docker-compose do).
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

SERVICES: tuple[str, ...] = ("registry", "funds", "projects", "audit")


class Settings(BaseSettings):
    """What every service needs to know; subclassed once per service below."""

    model_config = SettingsConfigDict(env_prefix="FUPIN_", extra="ignore")

    service: ClassVar[str]

    env: Literal["development", "production"] = Field(
        "development", description="production refuses the development JWT secret"
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL server URL (postgresql://user:pw@host:5432/). Each service uses "
        "its own database on it, created if missing. Unset: the runner starts embedded PostgreSQL.",
    )
    database_prefix: str = Field("fupin", description="database name = <prefix>_<service>")
    kafka_bootstrap: str | None = Field(
        None, description="Kafka bootstrap servers. Unset: the runner starts the embedded broker."
    )
    kafka_idempotence: bool = Field(
        False, description="idempotent producer (enable with Apache Kafka; the embedded broker lacks it)"
    )
    topic_prefix: str = Field("fupin", description="topics are <prefix>.<service>.events; consumer groups <prefix>.<service>")
    topic_partitions: int = Field(1, ge=1, description="partitions of each fupin.<service>.events topic")
    topic_retention_ms: int = Field(-1, ge=-1, description="retention.ms of each topic Fupin creates (-1: unlimited)")
    jwt_secret: str = Field("fupin-development-secret-do-not-deploy", description="HS256 secret (development)")
    jwt_jwks_url: str | None = Field(None, description="JWKS URL of the identity provider (production)")
    jwt_issuer: str = "fupin"
    jwt_audience: str = "fupin"
    # the claim mapping: where the identity provider puts a caller's roles, division and department
    # (the services read bearer tokens with it, the console the ID token of a login)
    jwt_claim_roles: str = Field("roles", description="claim holding the caller's roles (a list, or a space-"
                                 "separated string); a dotted name reads a nested claim (realm_access.roles)")
    jwt_claim_division: str = Field("division", description="claim holding the caller's division code")
    jwt_claim_dept: str = Field("dept", description="claim holding a department caller's department")
    service_token: str | None = Field(
        None, description="bearer token this service presents to the others' /events feeds; "
        "minted from the development secret when unset"
    )
    host: str = "127.0.0.1"
    relay_poll_seconds: float = Field(2.0, gt=0, description="relay polls this often besides LISTEN/NOTIFY")
    consumer_catchup_seconds: float = Field(
        15.0, gt=0, description="an idle consumer asks each source's feed for its last seq this often "
        "and backfills what the broker never delivered"
    )
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes of the service (`python -m "
                         "services.<name>`); the relay stays single (advisory lock), consumers apply each source "
                         "under a lock, schedulers skip rows another worker holds")
    group_commit_window_seconds: float = Field(
        0.0, ge=0, le=1, description="a group of concurrent writes (group commit) waits this long after its first "
        "request for more; 0: no waiting, the requests that arrive while a group commits form the next one"
    )
    group_commit_max_members: int = Field(
        64, ge=1, description="a group of concurrent writes closes at this many requests; 1: writes are not grouped")
    scheduler_seconds: float = Field(60.0, gt=0, description="how often due announcements are closed and deadlines evaluated")
    objection_rate_limit: int = Field(5, ge=1, description="objections one client address may file per window")
    objection_rate_window_seconds: int = Field(600, ge=1)
    # the input boundary (shared/web/boundary.py) and the client address (shared/web/client.py)
    max_body_bytes: int = Field(64 * 2**20, ge=1024, description="largest JSON, form or text body accepted (413 beyond)")
    max_upload_bytes: int = Field(256 * 2**20, ge=1024, description="largest multipart upload or binary body (413 beyond)")
    max_json_depth: int = Field(32, ge=2, le=500, description="deepest JSON nesting accepted, checked before parsing")
    forwarded_allow_ips: str = Field(
        "", description="comma-separated addresses or CIDRs of the reverse proxies whose Forwarded / "
        "X-Forwarded-For headers are believed; unset: none, the TCP peer is the client"
    )
    clock: str | None = Field(
        None, description="an aware ISO datetime: the services' clock starts there (demos, rehearsals); "
        "unset: real time"
    )
    log_level: str = "INFO"
    log_json: bool | None = Field(
        None, description="JSON log lines; unset: JSON in production, one readable line each in development"
    )
    migrate_on_start: bool = Field(False, description="create and migrate the database before serving")
    policy_files: list[str] = Field(
        default_factory=list, description="extra YAML rule tables that override the shipped policy"
    )
    # verifiable history (shared/events/checkpoints.py): the Merkle tree's signed checkpoints
    log_origin_prefix: str = Field(
        "fupin.example/dev", description="checkpoint origin (and log key name) = <prefix>/<service>; "
        "name the deployment, e.g. fupin.example/xinjiang-prod"
    )
    checkpoint_every_events: int = Field(1000, ge=1, description="sign a checkpoint after this many new events")
    checkpoint_every_seconds: float = Field(60.0, gt=0, description="… or after this long, when the log has grown")
    tail_check_seconds: float = Field(
        30.0, gt=0, description="how often the log's tail is compared with its checkpoints, tree, relay and topic"
    )
    log_key_dir: str | None = Field(
        None, description="directory of the log signing keys, one <service>.key file each "
        "(a PRIVATE+KEY+… string); production needs it or FUPIN_LOG_KEYS"
    )
    log_keys: dict[str, str] = Field(
        default_factory=dict, description="JSON {service: PRIVATE+KEY+… string}, instead of files"
    )
    data_dir: str = Field(".data", description="development: signing keys are generated into <data_dir>/keys")
    registry_url: str = "http://127.0.0.1:8101"
    funds_url: str = "http://127.0.0.1:8102"
    projects_url: str = "http://127.0.0.1:8103"
    audit_url: str = "http://127.0.0.1:8104"
    log_verifier_keys: dict[str, str] = Field(
        default_factory=dict, description="JSON {service: verifier key} — the published keys of the logs this "
        "service witnesses (name+id+base64); development: derived from the keys in the data directory"
    )

    @model_validator(mode="after")
    def _production_needs_an_identity_provider(self):
        if self.env == "production" and not (self.jwt_jwks_url and self.service_token):
            raise ValueError("FUPIN_ENV=production needs FUPIN_JWT_JWKS_URL and FUPIN_SERVICE_TOKEN "
                             "(the development secret signs nothing in production)")
        return self

    # per-service fields, overridden with FUPIN_<SERVICE>_ aliases in each subclass
    port: int
    database: str | None = None

    @property
    def database_name(self) -> str:
        return self.database or f"{self.database_prefix}_{self.service}"

    @property
    def log_as_json(self) -> bool:
        return self.log_json if self.log_json is not None else self.env == "production"

    @property
    def database_server(self) -> str:
        """``database_url``, for whatever connects (RuntimeError naming the variable when unset)."""
        if not self.database_url:
            raise RuntimeError("FUPIN_DATABASE_URL is not set (the runner sets it for embedded PostgreSQL)")
        return self.database_url

    @property
    def broker(self) -> str:
        """``kafka_bootstrap``, for whatever talks to the broker (RuntimeError naming the variable when unset)."""
        if not self.kafka_bootstrap:
            raise RuntimeError("FUPIN_KAFKA_BOOTSTRAP is not set (the runner sets it for the embedded broker)")
        return self.kafka_bootstrap

    @cached_property
    def sqlalchemy_url(self) -> str:
        """The asyncpg URL of this service's own database."""
        return database_url_for(self.database_server, self.database_name)

    @property
    def topic(self) -> str:
        return topic_of(self.service, self.topic_prefix)

    @property
    def log_origin(self) -> str:
        return f"{self.log_origin_prefix}/{self.service}"

    @property
    def checkpoint_topic(self) -> str:
        return f"{self.topic_prefix}.{self.service}.checkpoints"

    @property
    def consumer_group(self) -> str:
        return f"{self.topic_prefix}.{self.service}"

    def peer_url(self, service: str) -> str:
        return getattr(self, f"{service}_url")


def _port(service: str, default: int):
    """A service's port, read from FUPIN_<SERVICE>_PORT."""
    return Field(default, validation_alias=AliasChoices(f"FUPIN_{service.upper()}_PORT"))


def _database(service: str):
    """A service's database name, read from FUPIN_<SERVICE>_DATABASE (default <prefix>_<service>)."""
    return Field(None, validation_alias=AliasChoices(f"FUPIN_{service.upper()}_DATABASE"))


class RegistrySettings(Settings):
    service: ClassVar[str] = "registry"
    port: int = _port("registry", 8101)
    database: str | None = _database("registry")


class FundsSettings(Settings):
    service: ClassVar[str] = "funds"
    port: int = _port("funds", 8102)
    database: str | None = _database("funds")


class ProjectsSettings(Settings):
    service: ClassVar[str] = "projects"
    port: int = _port("projects", 8103)
    database: str | None = _database("projects")


class AuditSettings(Settings):
    service: ClassVar[str] = "audit"
    port: int = _port("audit", 8104)
    database: str | None = _database("audit")
    audit_concurrency: int = Field(2, ge=1, description="audit runs at once per process; more are answered 503 "
                                   "with Retry-After")


SETTINGS_CLASSES: dict[str, type[Settings]] = {
    cls.service: cls for cls in (RegistrySettings, FundsSettings, ProjectsSettings, AuditSettings)
}


def settings_for(service: str, **overrides) -> Settings:
    """The service's settings from the environment, with keyword overrides (``port=`` and
    ``database=`` address the service's own FUPIN_<SERVICE>_PORT / _DATABASE)."""
    for name in ("port", "database"):
        if name in overrides:
            overrides[f"FUPIN_{service.upper()}_{name.upper()}"] = overrides.pop(name)
    return SETTINGS_CLASSES[service](**overrides)


def topic_of(service: str, prefix: str = "fupin") -> str:
    return f"{prefix}.{service}.events"


def database_url_for(server_url: str, database: str) -> str:
    """Point a server URL at one database, with the asyncpg driver."""
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


def libpq_url(server_url: str, database: str | None = None) -> str:
    """A plain postgresql:// URL (for asyncpg.connect and psql), optionally at another database."""
    url = make_url(server_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)
