"""Every page of the console, logged in, with hostile values in every query and path parameter
(NUL, out-of-range and overflowing numbers, markup, bidi controls, path tricks, huge text): never a
server error — a refused value is a page naming it (422), a service that cannot be reached a page
saying so. The services are unreachable here, so the console's own code is what is fuzzed; the
services' routes are fuzzed by tests/service/test_fuzz.py."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from fastapi.routing import APIRoute

from tests.console.test_console_session import COUNTY_OFFICE, console, log_in  # noqa: F401  (fixture)

HOSTILE = ["", "\x00", "-1", "0", "99999", "9" * 40, "1e9", "<script>alert(1)</script>", "'\"", "\u202e中文",
           "../../../etc/passwd", "%00", "x" * 5000, "2017-13-45", "NaN"]


def _gets(app) -> list[tuple[str, list[str], list[str]]]:
    routes = []
    for route in app.routes:
        if isinstance(route, APIRoute) and "GET" in route.methods:
            routes.append((route.path, [p.alias for p in route.dependant.path_params],
                           [p.alias for p in route.dependant.query_params]))
    return routes


def _problem(response: httpx.Response) -> str | None:
    if response.status_code >= 500 and not (response.status_code == 503 and "无法连接" in response.text):
        return f"{response.status_code} {response.text[:200]}"
    return None


async def test_no_value_in_any_parameter_of_any_page_is_a_server_error(console):  # noqa: F811
    await log_in(console, COUNTY_OFFICE)
    app = console._transport.app
    found = {}
    for path, path_params, query_params in _gets(app):
        for value in HOSTILE:
            url = re.sub(r"\{[^}]+\}", (quote(value, safe="") or "x").replace("\\", "\\\\"), path) \
                if path_params else path
            for name in query_params or [None]:
                params = {name: value} if name else {}
                response = await console.get(url, params=params)
                if problem := _problem(response):
                    found[f"GET {path} {name}={value[:20]!r}"] = problem
    assert not found, "\n".join(f"- {k}: {v}" for k, v in sorted(found.items()))


async def test_every_write_of_the_console_needs_the_csrf_token(console):  # noqa: F811
    """Each POST, PUT, PATCH or DELETE route — present and future — is refused (403) without the
    session's token or with a forged one, as a form and as a file upload, before it does anything."""
    await log_in(console, COUNTY_OFFICE)
    app = console._transport.app
    writes = [(route.path, method) for route in app.routes if isinstance(route, APIRoute)
              for method in route.methods if method in ("POST", "PUT", "PATCH", "DELETE")]
    assert len(writes) >= 4
    for path, method in writes:
        for data in ({}, {"csrf_token": "forged"}):
            response = await console.request(method, path, data=data, files={"file": ("a.csv", b"a,b\r\n")})
            assert response.status_code == 403 and "CSRF" in response.text, (method, path, response.status_code)
    assert (await console.get("/dashboard")).status_code == 200  # the session survived every refusal
