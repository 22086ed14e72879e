"""The route parameter aliases (shared.auth ``Caller``/``Reader``/``Writer``, shared.web ``Session``/
``Paging``): each is ``Annotated[T, Depends(...)]`` over the same dependency a route wrote by hand,
so a route reads the same caller and refuses the same roles."""

import typing

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.auth import Caller, Principal, Reader, Role, Writer, current_principal
from shared.web import Paging, Session, db_session, page_params
from shared.web import problems


def _dependency(alias):
    base, marker = typing.get_args(alias)
    return base, marker.dependency


def test_caller_session_and_paging_wrap_the_dependencies_routes_used():
    assert _dependency(Caller) == (Principal, current_principal)
    assert _dependency(Session)[1] is db_session
    assert _dependency(Paging)[1] is page_params


def test_a_reader_admits_auditors_and_a_writer_refuses_them():
    base, reader = _dependency(Reader(Role.county_office))
    assert base is Principal and reader.allowed_roles == {"county_office", "admin", "auditor"}
    base, writer = _dependency(Writer(Role.county_office, Role.village))
    assert base is Principal and writer.allowed_roles == {"county_office", "village", "admin"}


def test_a_route_with_writer_answers_403_to_a_role_it_does_not_name():
    app = FastAPI()
    problems.install(app)

    @app.post("/x")
    async def x(principal: Writer(Role.county_office)) -> dict:  # type: ignore[valid-type]
        return {"sub": principal.sub}

    app.dependency_overrides[current_principal] = lambda: Principal(sub="审计", roles=frozenset({"auditor"}),
                                                                    division="650000000000")
    refused = TestClient(app).post("/x")
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    app.dependency_overrides[current_principal] = lambda: Principal(sub="县", roles=frozenset({"county_office"}),
                                                                    division="652722000000")
    assert TestClient(app).post("/x").json() == {"sub": "县"}
