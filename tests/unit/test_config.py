"""Settings: the FUPIN_ prefix, per-service variables, production guard."""

import pytest
from pydantic import ValidationError

from shared.config import SERVICES, database_url_for, settings_for


def test_common_variables_apply_to_every_service(monkeypatch):
    monkeypatch.setenv("FUPIN_DATABASE_URL", "postgresql://u:p@db:5432/postgres")
    monkeypatch.setenv("FUPIN_KAFKA_BOOTSTRAP", "kafka:9092")
    for service in SERVICES:
        settings = settings_for(service)
        assert settings.kafka_bootstrap == "kafka:9092"
        assert settings.sqlalchemy_url == f"postgresql+asyncpg://u:p@db:5432/fupin_{service}"


def test_per_service_variables_apply_to_their_service_only(monkeypatch):
    monkeypatch.setenv("FUPIN_FUNDS_PORT", "9000")
    monkeypatch.setenv("FUPIN_FUNDS_DATABASE", "money")
    monkeypatch.setenv("PORT", "7777")  # hosting platforms set PORT: it must not leak in
    monkeypatch.setenv("FUPIN_PORT", "7778")
    assert (settings_for("funds").port, settings_for("funds").database_name) == (9000, "money")
    assert (settings_for("registry").port, settings_for("registry").database_name) == (8101, "fupin_registry")
    assert settings_for("audit", port=1, database="x").port == 1


def test_default_ports_and_topics():
    assert [settings_for(s).port for s in SERVICES] == [8101, 8102, 8103, 8104]
    assert settings_for("funds").topic == "fupin.funds.events"
    assert settings_for("funds", topic_prefix="staging").topic == "staging.funds.events"


def test_production_refuses_to_start_without_an_identity_provider():
    with pytest.raises(ValidationError, match="FUPIN_JWT_JWKS_URL"):
        settings_for("funds", env="production")
    ok = settings_for("funds", env="production", jwt_jwks_url="https://idp/jwks", service_token="t")
    assert ok.env == "production"


def test_database_url_keeps_credentials_and_switches_database():
    assert database_url_for("postgresql://a:b%40c@h:1/postgres", "x") == "postgresql+asyncpg://a:b%40c@h:1/x"
