"""docker-compose.yml agrees with the settings classes in shared/config.py.

``compose_problems`` lists every way the compose file has drifted from the settings (ports,
variable names, peer URLs, infrastructure wiring); the real file must have none, and a few
mutated copies prove each kind of drift is caught.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices, ValidationError
from sqlalchemy.engine import make_url

from services.console.settings import ConsoleSettings
from shared.config import SERVICES, SETTINGS_CLASSES, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PREFIX = "FUPIN_"
INFRA = ("postgres", "kafka")
#: apps without a database or a log (not in SERVICES), each checked against its own settings class
APPS: dict[str, type[Settings]] = {"console": ConsoleSettings}
TEST_SECRET = "compose-test-secret"


# --- reading the settings classes ------------------------------------------------------------

def default_port(service: str) -> int:
    return SETTINGS_CLASSES[service].model_fields["port"].default


def env_names(cls: type[Settings]) -> dict[str, str]:
    """Environment variable -> field name, for every variable the class reads.

    A field with a validation alias is read from its FUPIN_-prefixed alias choices (the
    per-service FUPIN_<SERVICE>_PORT / FUPIN_<SERVICE>_DATABASE); any other field from
    FUPIN_<FIELD>.
    """
    names: dict[str, str] = {}
    for field_name, info in cls.model_fields.items():
        alias = info.validation_alias
        if alias is None:
            names[f"{PREFIX}{field_name.upper()}"] = field_name
            continue
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            if isinstance(choice, str) and choice.upper().startswith(PREFIX):
                names[choice.upper()] = field_name
    return names


def from_values(cls: type[Settings], values: dict[str, str]) -> Settings:
    """``cls`` built from ``values`` (field -> text) alone, ignoring this process's environment."""

    class Isolated(cls):
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, *args, **kwargs):
            return (init_settings,)

    return Isolated(**values)


def all_env_names() -> dict[str, str]:
    """Every FUPIN_ variable any service reads (to tell "another service's" from "unknown")."""
    names: dict[str, str] = {}
    for cls in SETTINGS_CLASSES.values():
        names.update(env_names(cls))
    return names


# --- reading compose -------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} / ${VAR:?error} as seen with nothing set but the JWT secret."""

    def sub(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name == "FUPIN_JWT_SECRET":
            return TEST_SECRET
        if op in (":-", "-"):
            return arg
        return ""

    return _INTERPOLATION.sub(sub, value)


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): interpolate(str(v)) for k, v in env.items()}


def port_pairs(service: dict) -> list[tuple[int, int]]:
    """(published, container) for each ports entry."""
    pairs = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            pairs.append((int(entry.get("published", entry["target"])), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        container = int(parts[-1])
        published = int(parts[-2]) if len(parts) >= 2 else container
        pairs.append((published, container))
    return pairs


def command_words(service: dict) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(w) for w in command]


def healthcheck_text(service: dict) -> str:
    test = (service.get("healthcheck") or {}).get("test") or []
    return test if isinstance(test, str) else " ".join(str(w) for w in test)


def is_true(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


# --- the check -------------------------------------------------------------------------------

def compose_problems(compose: dict) -> list[str]:
    problems: list[str] = []
    services: dict = compose.get("services") or {}
    known = all_env_names()

    expected = set(SERVICES) | set(INFRA) | set(APPS)
    for name in sorted(expected - services.keys()):
        problems.append(f"compose lacks service {name}")
    for name in sorted(services.keys() - expected):
        problems.append(f"compose service {name} is neither infrastructure nor in SERVICES")

    for app, cls in APPS.items():
        if app not in services:
            continue
        spec, where = services[app], f"{app}:"
        if command_words(spec)[-2:] != ["-m", f"services.{app}"]:
            problems.append(f"{where} command {command_words(spec)} does not run `python -m services.{app}`")
        port = cls.model_fields["port"].default
        if port_pairs(spec) != [(port, port)]:
            problems.append(f"{where} ports {port_pairs(spec)} should publish {port}:{port}")
        mine = env_names(cls)
        problems += [f"{where} {var} is not a setting" for var in sorted(environment(spec))
                     if var.startswith(PREFIX) and var not in mine]

    postgres = services.get("postgres") or {}
    kafka = services.get("kafka") or {}
    kafka_env = environment(kafka)
    advertised = kafka_env.get("KAFKA_ADVERTISED_LISTENERS", "")

    # infrastructure
    for name in INFRA:
        if name in services and not healthcheck_text(services[name]):
            problems.append(f"{name} has no healthcheck (services wait for it to be healthy)")
    if kafka:
        if str(kafka_env.get("KAFKA_LOG_RETENTION_MS")) != "-1":
            problems.append("kafka: KAFKA_LOG_RETENTION_MS must be -1 (the event topics are an audit log)")
        if str(kafka_env.get("KAFKA_LOG_RETENTION_BYTES")) != "-1":
            problems.append("kafka: KAFKA_LOG_RETENTION_BYTES must be -1 (the event topics are an audit log)")
        if str(kafka_env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "")).lower() != "false":
            problems.append("kafka: KAFKA_AUTO_CREATE_TOPICS_ENABLE must be false (the relay creates its topic)")

    for service in SERVICES:
        if service not in services:
            continue
        spec = services[service]
        cls = SETTINGS_CLASSES[service]
        port = default_port(service)
        env = environment(spec)
        where = f"{service}:"

        # command
        words = command_words(spec)
        if words[-2:] != ["-m", f"services.{service}"]:
            problems.append(f"{where} command {words} does not run `python -m services.{service}`")

        # port: published, container, FUPIN_<SERVICE>_PORT, healthcheck
        if port_pairs(spec) != [(port, port)]:
            problems.append(f"{where} ports {port_pairs(spec)} should publish {port}:{port}")
        port_vars = [name for name, field in env_names(cls).items() if field == "port"]
        if not any(env.get(var) == str(port) for var in port_vars):
            problems.append(f"{where} does not set {' or '.join(port_vars)}={port}")

        # every FUPIN_ variable is one this service reads
        mine = env_names(cls)
        for var in sorted(env):
            if not var.startswith(PREFIX):
                continue
            if var not in mine:
                owner = f" (read by another service, not {service})" if var in known else ""
                problems.append(f"{where} {var} is not a setting{owner}")

        # the values parse as this service's settings
        try:
            # aliased fields (port, database) are passed by their variable name, the rest by field name
            settings = from_values(cls, {
                var if cls.model_fields[mine[var]].validation_alias else mine[var]: value
                for var, value in env.items() if var in mine
            })
        except ValidationError as exc:
            problems.append(f"{where} environment does not validate: {exc.errors()}")
            settings = None
        if settings is not None:
            if settings.port != port:
                problems.append(f"{where} settings port is {settings.port}, compose publishes {port}")
            if settings.host != "0.0.0.0":
                problems.append(f"{where} FUPIN_HOST is {settings.host!r}; containers must listen on 0.0.0.0")
            if not settings.migrate_on_start:
                problems.append(f"{where} FUPIN_MIGRATE_ON_START is off; nothing else migrates in compose")
            if not settings.kafka_idempotence:
                problems.append(f"{where} FUPIN_KAFKA_IDEMPOTENCE is off; enable it with Apache Kafka")

        # peers: FUPIN_<PEER>_URL -> http://<peer compose service>:<peer port>
        for peer in SERVICES:
            var = f"{PREFIX}{peer.upper()}_URL"
            if var not in env:
                if peer != service:
                    problems.append(f"{where} does not set {var}")
                continue
            url = urlsplit(env[var])
            if url.hostname != peer or url.port != default_port(peer):
                problems.append(
                    f"{where} {var}={env[var]} should point at compose service {peer} "
                    f"port {default_port(peer)}"
                )
            elif peer not in services or (default_port(peer), default_port(peer)) not in [
                (c, c) for _, c in port_pairs(services[peer])
            ]:
                problems.append(f"{where} {var} points at {peer}:{url.port}, which compose does not serve")

        # database: the postgres service, with its password
        database_url = env.get(f"{PREFIX}DATABASE_URL")
        if not database_url:
            problems.append(f"{where} does not set FUPIN_DATABASE_URL")
        else:
            url = make_url(database_url)
            if url.host != "postgres" or (url.port or 5432) != 5432:
                problems.append(f"{where} FUPIN_DATABASE_URL host {url.host}:{url.port} is not postgres:5432")
            password = environment(postgres).get("POSTGRES_PASSWORD")
            if url.password != password:
                problems.append(f"{where} FUPIN_DATABASE_URL password differs from postgres' POSTGRES_PASSWORD")

        # broker: the kafka service, on a listener it advertises
        bootstrap = env.get(f"{PREFIX}KAFKA_BOOTSTRAP")
        if not bootstrap:
            problems.append(f"{where} does not set FUPIN_KAFKA_BOOTSTRAP")
        else:
            for server in bootstrap.split(","):
                host = server.strip().rsplit(":", 1)[0]
                if host != "kafka" or f"//{server.strip()}" not in advertised:
                    problems.append(
                        f"{where} FUPIN_KAFKA_BOOTSTRAP {server} is not a listener kafka advertises ({advertised})"
                    )

        # start order and health
        depends = spec.get("depends_on") or {}
        for infra in INFRA:
            condition = depends.get(infra, {}).get("condition") if isinstance(depends, dict) else None
            if condition != "service_healthy":
                problems.append(f"{where} does not depend on {infra} being healthy")
        check = healthcheck_text(spec)
        if f":{port}/readyz" not in check:
            problems.append(f"{where} healthcheck does not hit /readyz on port {port}: {check!r}")

        # one image
        build = spec.get("build") or {}
        dockerfile = build.get("dockerfile") if isinstance(build, dict) else None
        if dockerfile != "deploy/Dockerfile":
            problems.append(f"{where} is not built from deploy/Dockerfile")

    return problems


# --- tests -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def test_compose_matches_settings(compose):
    assert compose_problems(compose) == []


def test_per_service_aliases_come_from_the_settings_classes():
    for service, cls in SETTINGS_CLASSES.items():
        names = env_names(cls)
        assert names[f"FUPIN_{service.upper()}_PORT"] == "port"
        assert names[f"FUPIN_{service.upper()}_DATABASE"] == "database"
        assert "FUPIN_PORT" not in names and "FUPIN_DATABASE_URL" in names


def services_of(compose: dict) -> dict:
    return compose["services"]


def mutated(compose: dict, change) -> list[str]:
    copy_ = copy.deepcopy(compose)
    change(copy_)
    return compose_problems(copy_)


def test_reports_published_port_drift(compose):
    problems = mutated(compose, lambda c: services_of(c)["funds"].update(ports=["8112:8102"]))
    assert any(p.startswith("funds: ports") for p in problems), problems


def test_reports_port_variable_drift(compose):
    problems = mutated(compose, lambda c: services_of(c)["projects"]["environment"].update(FUPIN_PROJECTS_PORT="9103"))
    assert any("FUPIN_PROJECTS_PORT=8103" in p for p in problems), problems
    assert any("settings port is 9103" in p for p in problems), problems


def test_reports_unknown_and_foreign_variables(compose):
    def change(c):
        env = services_of(c)["audit"]["environment"]
        env["FUPIN_KAFKA_BOOTSTRAPS"] = "kafka:9092"
        env["FUPIN_FUNDS_DATABASE"] = "funds_db"

    problems = mutated(compose, change)
    assert "audit: FUPIN_KAFKA_BOOTSTRAPS is not a setting" in problems, problems
    assert any(p.startswith("audit: FUPIN_FUNDS_DATABASE is not a setting (read by another") for p in problems)


def test_reports_console_drift(compose):
    def change(c):
        console = services_of(c)["console"]
        console["command"] = ["python", "-m", "services.consol"]
        console["ports"] = ["8000:8100"]
        console["environment"]["FUPIN_CONSOLE_SESION_SECRET"] = "x"

    problems = mutated(compose, change)
    assert any(p.startswith("console: command") for p in problems), problems
    assert "console: ports [(8000, 8100)] should publish 8100:8100" in problems, problems
    assert "console: FUPIN_CONSOLE_SESION_SECRET is not a setting" in problems, problems


def test_reports_peer_url_drift(compose):
    problems = mutated(
        compose, lambda c: services_of(c)["registry"]["environment"].update(FUPIN_FUNDS_URL="http://funds:8103")
    )
    assert any(p.startswith("registry: FUPIN_FUNDS_URL=http://funds:8103") for p in problems), problems
    problems = mutated(compose, lambda c: services_of(c)["audit"]["environment"].pop("FUPIN_PROJECTS_URL"))
    assert "audit: does not set FUPIN_PROJECTS_URL" in problems, problems


def test_reports_infrastructure_drift(compose):
    problems = mutated(
        compose,
        lambda c: services_of(c)["funds"]["environment"].update(
            FUPIN_DATABASE_URL="postgresql://postgres:x@localhost:5432/postgres", FUPIN_KAFKA_BOOTSTRAP="broker:9092"
        ),
    )
    assert any(p.startswith("funds: FUPIN_DATABASE_URL host localhost") for p in problems), problems
    assert any(p.startswith("funds: FUPIN_DATABASE_URL password") for p in problems), problems
    assert any(p.startswith("funds: FUPIN_KAFKA_BOOTSTRAP broker:9092") for p in problems), problems


def test_reports_kafka_retention_and_auto_create(compose):
    def change(c):
        env = services_of(c)["kafka"]["environment"]
        env["KAFKA_LOG_RETENTION_MS"] = 604800000
        env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] = "true"
        del env["KAFKA_LOG_RETENTION_BYTES"]

    problems = mutated(compose, change)
    assert len([p for p in problems if p.startswith("kafka:")]) == 3, problems


def test_reports_missing_service_and_dependencies(compose):
    problems = mutated(compose, lambda c: services_of(c).pop("audit"))
    assert "compose lacks service audit" in problems
    problems = mutated(compose, lambda c: services_of(c)["projects"].update(depends_on=["postgres", "kafka"]))
    assert "projects: does not depend on kafka being healthy" in problems, problems
    problems = mutated(compose, lambda c: services_of(c)["registry"].update(command=["python", "-m", "services.funds"]))
    assert any(p.startswith("registry: command") for p in problems), problems


def test_reports_healthcheck_and_flag_drift(compose):
    def change(c):
        funds = services_of(c)["funds"]
        funds["healthcheck"] = {"test": ["CMD", "python", "-c", "urlopen('http://127.0.0.1:8102/healthz')"]}
        funds["environment"]["FUPIN_KAFKA_IDEMPOTENCE"] = "false"
        funds["environment"]["FUPIN_HOST"] = "127.0.0.1"

    problems = mutated(compose, change)
    assert any(p.startswith("funds: healthcheck") for p in problems), problems
    assert any(p.startswith("funds: FUPIN_KAFKA_IDEMPOTENCE is off") for p in problems), problems
    assert any(p.startswith("funds: FUPIN_HOST") for p in problems), problems


@pytest.mark.parametrize("service", SERVICES)
def test_compose_environment_loads_through_the_env_source(compose, service, monkeypatch):
    """The service started by compose reads the intended values from its environment."""
    import os

    for name in list(os.environ):
        if name.upper().startswith(PREFIX) or name.upper() in ("PORT", "DATABASE"):
            monkeypatch.delenv(name)
    for name, value in environment(services_of(compose)[service]).items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS_CLASSES[service]()
    assert settings.port == default_port(service)
    assert settings.host == "0.0.0.0"
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.kafka_idempotence is True and settings.migrate_on_start is True
    assert settings.jwt_secret == TEST_SECRET
    assert make_url(settings.database_url).host == "postgres"
    assert settings.database_name == f"fupin_{service}"
    for peer in SERVICES:
        assert settings.peer_url(peer) == f"http://{peer}:{default_port(peer)}"


def test_dockerfile_exposes_every_service_port():
    text = DOCKERFILE.read_text(encoding="utf-8")
    exposed = {int(p) for line in text.splitlines() if line.startswith("EXPOSE") for p in line.split()[1:]}
    assert exposed == {default_port(s) for s in SERVICES}
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert re.search(r"^USER (?!root)", text, re.M), "the image must not run as root"
    assert "FUPIN_HOST=0.0.0.0" in text
