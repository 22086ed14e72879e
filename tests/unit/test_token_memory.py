"""A verified token is remembered (shared.auth.TokenVerifier): not decoded again while valid, never
past its ``exp`` nor longer than REMEMBER_SECONDS, and a bad token is never remembered."""

import time

import jwt
import pytest

from shared import auth
from shared.auth import REMEMBER_SECONDS, TokenVerifier, issue_token
from shared.config import settings_for
from shared.errors import Unauthorized


@pytest.fixture
def verifier():
    return TokenVerifier(settings_for("funds"))


def token(ttl: int = 3600) -> str:
    return issue_token(settings_for("funds"), sub="县财政局", roles=["county_finance"], division="652722000000",
                       ttl_seconds=ttl)


def no_decoding(monkeypatch) -> list[str]:
    calls: list[str] = []

    def refuse(token, *args, **kwargs):
        calls.append(token)
        raise jwt.ExpiredSignatureError("Signature has expired")
    monkeypatch.setattr(auth.jwt, "decode", refuse)
    return calls


def test_a_token_verified_once_is_not_decoded_again_while_valid(verifier, monkeypatch):
    t = token()
    principal = verifier.verify(t)
    assert principal.sub == "县财政局" and verifier.known(t) == principal
    calls = no_decoding(monkeypatch)
    assert verifier.verify(t) == principal
    assert calls == []


def test_a_remembered_token_is_decoded_again_once_it_expired(verifier, monkeypatch):
    t = token(ttl=60)
    verifier.verify(t)
    expires = jwt.decode(t, options={"verify_signature": False})["exp"]
    calls = no_decoding(monkeypatch)
    monkeypatch.setattr(auth.time, "time", lambda: expires + 1)
    assert verifier.known(t) is None
    with pytest.raises(Unauthorized):
        verifier.verify(t)
    assert calls == [t]


def test_a_long_lived_token_is_remembered_at_most_remember_seconds(verifier, monkeypatch):
    t = token(ttl=24 * 3600)
    now = time.time()
    verifier.verify(t)
    monkeypatch.setattr(auth.time, "time", lambda: now + REMEMBER_SECONDS + 1)
    calls = no_decoding(monkeypatch)
    with pytest.raises(Unauthorized):
        verifier.verify(t)
    assert calls == [t]


def test_a_bad_token_is_refused_every_time_and_never_remembered(verifier):
    forged = token()[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verifier.verify(forged)
    assert verifier.known(forged) is None


def test_the_memory_is_bounded(verifier, monkeypatch):
    monkeypatch.setattr(auth, "REMEMBERED", 3)
    tokens = [issue_token(settings_for("funds"), sub=f"s{n}", roles=["county_finance"], division="652722000000")
              for n in range(5)]
    for t in tokens:
        verifier.verify(t)
    assert [verifier.known(t) is not None for t in tokens] == [False, False, True, True, True]


def test_a_token_without_exp_is_refused_and_never_remembered(verifier):
    settings = settings_for("funds")
    endless = jwt.encode({"sub": "县财政局", "roles": ["county_finance"], "division": "652722000000",
                          "iss": settings.jwt_issuer, "aud": settings.jwt_audience}, settings.jwt_secret,
                         algorithm="HS256")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verifier.verify(endless)
    assert verifier.known(endless) is None


def test_a_token_is_remembered_by_all_of_it_not_a_prefix(verifier):
    t = token()
    verifier.verify(t)
    for other in (t[:-1], t + "A"):  # (not a changed last character: its low bits are padding)
        assert verifier.known(other) is None
        with pytest.raises(Unauthorized):
            verifier.verify(other)
