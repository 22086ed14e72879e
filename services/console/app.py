"""The officials' console: FastAPI + Jinja2, server-rendered Chinese pages for a county's officials.

Every page calls the services' REST APIs with the official's token (``backend.py``): the services
verify it and enforce role and jurisdiction; a refusal is shown in the page with the service's own
reason. Pages: the DOMAIN §8 dashboard, household search and record, deadlines and balances,
uploads (registry imports, disbursement batches) with the error report in the page, the audit
(report for auditors, 绩效考评 scores for offices), and the exports.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from services.console import batchfile, login
from services.console.backend import Answer, Backend, Expired, idempotency_key
from services.console.charts import bars
from services.console.login import CSRF_FIELD, CsrfRefused, LoginRefused, Official
from services.console.settings import ConsoleSettings
from shared import divisions
from shared.announcements import places
from shared.auth import DEV_IDENTITIES
from shared.errors import Problem
from shared.fields import Year
from shared.masking import mask_personal_numbers

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["masked"] = lambda text: mask_personal_numbers(str(text or ""))

#: The exports offered (key → service, path, title, formats, extra query); the services produce the
#: files, the console forwards the official's token and the file.
EXPORTS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "roll": ("registry", "/exports/roll", "建档立卡花名册（导入格式）", ("xlsx",)),
    "households": ("registry", "/households", "贫困户名单", ("csv", "xlsx")),
    "balances": ("funds", "/balances", "资金余额", ("csv", "xlsx")),
    "deadlines": ("funds", "/deadlines", "资金下达时限", ("csv", "xlsx")),
    "spending": ("funds", "/reports/spending", "支出进度", ("csv", "xlsx")),
    "stranded": ("funds", "/reports/stranded", "滞留资金", ("csv", "xlsx")),
    "projects": ("projects", "/projects", "项目库", ("csv", "xlsx")),
    "evaluations": ("projects", "/evaluations", "项目绩效评价", ("csv",)),
    "findings": ("audit", "/audit/findings", "审计发现", ("csv", "xlsx")),
}
#: Exports whose endpoint needs a year (named as the endpoint names it).
#: The services that publish announcements (公告公示) of their own.
ANNOUNCING = ("registry", "funds", "projects")
SERVICE_LABELS = {"registry": "建档立卡", "funds": "资金", "projects": "项目"}
YEAR_PARAM = {"spending": "fiscal_year", "evaluations": "year"}
ROLE_LABELS = {"village": "村", "township": "乡镇", "county_office": "县扶贫办", "county_finance": "县财政局",
               "city_office": "市扶贫办", "city_finance": "市财政局", "province_office": "省扶贫办",
               "province_finance": "省财政厅", "central_finance": "中央财政", "department": "行业部门",
               "auditor": "审计", "admin": "管理员"}
SECURITY_HEADERS = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


def content_security_policy(settings: ConsoleSettings) -> str:
    return ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            f"form-action {login.csp_form_action(settings)}; frame-ancestors 'none'")


class LoginNeeded(Exception):
    pass


def create_app(settings: ConsoleSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    idp = login.identity_provider(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.backend = Backend(settings, transport)
        yield
        await app.state.backend.close()

    app = FastAPI(title="Fupin console (扶贫管理控制台)", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.settings, app.state.idp = settings, idp
    app.add_middleware(SessionMiddleware, secret_key=settings.console_session_secret,
                       session_cookie=login.SESSION_COOKIE, max_age=settings.console_session_seconds,
                       same_site="lax", https_only=settings.cookie_secure)

    headers = {**SECURITY_HEADERS, "Content-Security-Policy": content_security_policy(settings)}

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    async def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        """The page, with codes written as people read them: ``place(code)`` a division's name (a village
        under the official's county reads 托里镇永集湖村), ``label(list, code, service)`` a code's Chinese
        label from that service's catalogue. Rendered once more when the first rendering met names not
        yet known (each asked of the registry once)."""
        official = login.current(request)
        backend: Backend = app.state.backend
        if official is not None:
            await backend.load_labels()
        unknown: set[str] = set()

        def place(code: Any) -> str:
            code = str(code or "")
            if official is None or not code.isdigit() or len(code) != 12:
                return code
            missing = {a for a in divisions.ancestors(code) if a not in backend.names and a not in backend.unnamed}
            unknown.update(missing)
            if code not in backend.names:
                return code
            return places.label(code, backend.names, below=None if code == official.division else official.division)

        def label(vocabulary: str, code: Any, service: str = "registry") -> str:
            if code in (None, ""):
                return ""
            return backend.labels.get(service, {}).get(vocabulary, {}).get(str(code), str(code))

        def render() -> HTMLResponse:
            return TEMPLATES.TemplateResponse(request, template, {
                "official": official, "csrf": login.csrf_token(request), "csrf_field": CSRF_FIELD, "place": place,
                "label": label, "role_labels": ROLE_LABELS, "service_labels": SERVICE_LABELS, "exports": EXPORTS,
                **context}, status_code=status)

        response = render()
        if unknown and official is not None:
            await backend.load_names(official, unknown)
            response = render()
        return response

    def official_of(request: Request) -> Official:
        official = login.current(request)
        if official is None:
            raise LoginNeeded()
        return official

    async def form_with_csrf(request: Request):
        form = await request.form()
        login.check_csrf(request, form.get(CSRF_FIELD) if isinstance(form.get(CSRF_FIELD), str) else None)
        return form

    @app.exception_handler(LoginNeeded)
    async def _login_needed(request: Request, exc: LoginNeeded):
        if request.method == "GET":  # back to this page after the login (a path of ours only)
            request.session["next"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login", status_code=303)

    def after_login(request: Request, before: str | None) -> RedirectResponse:
        target = before if before and before.startswith("/") and not before.startswith("//") else "/dashboard"
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Expired)
    async def _expired(request: Request, exc: Expired):
        request.session.clear()
        return RedirectResponse("/login?expired=1", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused):
        return await page(request, "error.html", 403, title="请求被拒绝", problem={"status": 403, "detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{"field": ".".join(str(part) for part in e["loc"][1:]), "reason": e["msg"]} for e in exc.errors()]
        return await page(request, "error.html", 422, title="输入有误", problem={
            "status": 422, "title": "Unprocessable", "detail": "请求参数无效 (invalid request parameters)",
            "errors": errors})

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return await page(request, "error.html", exc.status, title="输入有误", problem=exc.body())

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # --- login -----------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request, expired: int = 0, error: str | None = None,
                         logged_out: Literal["console", "provider"] | None = None):
        dev = settings.env == "development"
        return await page(request, "login.html", identities=list(enumerate(DEV_IDENTITIES)) if dev else [],
                    oidc=idp is not None, expired=bool(expired), error=error, logged_out=logged_out)

    @app.post("/login/dev")
    async def login_dev(request: Request):
        form = await form_with_csrf(request)
        try:
            index = int(str(form.get("identity", "")))
        except ValueError:
            index = -1
        before = request.session.get("next")
        try:
            login.dev_login(request, settings, index)
        except LoginRefused as exc:
            return await page(request, "login.html", 401, identities=[], oidc=idp is not None, error=str(exc))
        return after_login(request, before)

    @app.get("/login/oidc")
    async def login_oidc(request: Request):
        if idp is None:
            return await page(request, "error.html", 404, title="未配置身份提供方",
                        problem={"status": 404, "detail": "未配置统一身份认证 (FUPIN_OIDC_ISSUER is not set)"})
        return await login.oidc_redirect(request, settings, idp)

    @app.get("/auth/callback")
    async def auth_callback(request: Request):
        if idp is None:
            return await page(request, "error.html", 404, title="未配置身份提供方",
                        problem={"status": 404, "detail": "未配置统一身份认证 (FUPIN_OIDC_ISSUER is not set)"})
        before = request.session.get("next")
        try:
            await login.oidc_callback(request, settings, idp)
        except LoginRefused as exc:
            request.session.pop("who", None)
            return await page(request, "login.html", 401, identities=[], oidc=True, error=str(exc))
        return after_login(request, before)

    @app.post("/logout")
    async def logout(request: Request):
        """End the session here and, after an OpenID Connect login, at the provider (RP-Initiated Logout)."""
        await form_with_csrf(request)
        at_provider = await login.end_session(request, settings, idp)
        return RedirectResponse(at_provider or "/login?logged_out=console", status_code=303)

    @app.get("/logout/done")
    async def logout_done(request: Request, state: str | None = Query(None, max_length=200)):
        """The provider's post-logout redirect: its session ended when the state is the one we sent."""
        ended = login.logout_returned(request, state)
        return RedirectResponse(f"/login?logged_out={'provider' if ended else 'console'}", status_code=303)

    # --- pages -----------------------------------------------------------------------------------

    async def service_today(official: Official) -> date:
        """Today on the services' clock (the demo runs in 2018)."""
        answer = await app.state.backend.get(official, "funds", "/dev/clock")
        return date.fromisoformat(answer.data["today"]) if answer.ok else date.today()

    async def service_year(official: Official) -> int:
        return (await service_today(official)).year

    @app.get("/")
    async def home(request: Request):
        return RedirectResponse("/dashboard" if login.current(request) else "/login", status_code=303)

    @app.get("/dashboard", response_class=HTMLResponse)
    async def dashboard(request: Request, year: Year | None = None, division: str | None = None):
        official = official_of(request)
        backend: Backend = app.state.backend
        year = year or await service_year(official)
        scope = division or official.division
        stats, spending, compliance, figures, *notices = await asyncio.gather(
            backend.get(official, "registry", "/statistics", division=scope, year=year),
            backend.get(official, "funds", "/reports/spending", division=scope, fiscal_year=year),
            backend.get(official, "funds", "/reports/deadline-compliance", division=scope),
            backend.get(official, "projects", "/figures", division=scope, year=year),
            *(backend.get(official, service, "/announcements", division=scope, limit=500)
              for service in ANNOUNCING))
        charts = {}
        if stats.ok:
            charts["exits"] = bars("历年脱贫人数", [(f"{y}年", c["persons"]) for y, c in stats.data["exits"].items()],
                                   unit="人")
        if spending.ok:
            names = (("received", "到位"), ("passed_on", "下达"), ("committed", "安排项目"), ("disbursed", "拨付"),
                     ("stranded", "滞留"), ("returned", "收回"))
            charts["funds"] = bars(f"{year}年度资金（元）", [(label, spending.data.get(key, "0")) for key, label in names])
        if figures.ok:
            charts["stages"] = bars("项目按阶段", [(v.get("label", k), v.get("projects", 0))
                                                 for k, v in figures.data.get("by_stage", {}).items()], unit="个")
        return await page(request, "dashboard.html", year=year, scope=scope, stats=stats, spending=spending,
                    compliance=compliance, figures=figures, charts=charts,
                    announcements=announcement_counts(dict(zip(ANNOUNCING, notices))))

    @app.get("/households", response_class=HTMLResponse)
    async def households(request: Request, name: str | None = None, id_number: str | None = None,
                         number: str | None = None, status: str | None = None, division: str | None = None,
                         cursor: str | None = None):
        official = official_of(request)
        asked = any((name, id_number, number, status, division))
        found = await app.state.backend.get(official, "registry", "/households", name=name, id_number=id_number,
                                            number=number, status=status, division=division, cursor=cursor,
                                            limit=50) if asked else None
        next_url = None
        if found is not None and found.ok and found.data.get("next_cursor"):
            next_url = "/households?" + urlencode({**{k: v for k, v in request.query_params.items() if k != "cursor"},
                                                   "cursor": found.data["next_cursor"]})
        return await page(request, "households.html", found=found, next_url=next_url,
                    query={"name": name or "", "id_number": id_number or "", "number": number or "",
                           "status": status or "", "division": division or ""})

    @app.get("/households/{household_id}", response_class=HTMLResponse)
    async def household(request: Request, household_id: str):
        official = official_of(request)
        record = await app.state.backend.get(official, "registry", f"/households/{quote(household_id, safe='')}")
        benefits = await app.state.backend.get(official, "registry",
                                               f"/households/{quote(household_id, safe='')}/benefits") \
            if record.ok else None
        return await page(request, "household.html", record=record, benefits=benefits,
                    status=200 if record.ok else record.status)

    @app.get("/funds", response_class=HTMLResponse)
    async def funds(request: Request, state: str | None = None, division: str | None = None):
        official = official_of(request)
        scope = division or official.division
        deadlines = await app.state.backend.get(official, "funds", "/deadlines", division=scope, state=state)
        balances = await app.state.backend.get(official, "funds", "/balances", division=scope)
        return await page(request, "funds.html", deadlines=deadlines, balances=balances, state=state or "", scope=scope)

    @app.get("/uploads", response_class=HTMLResponse)
    async def uploads(request: Request):
        official = official_of(request)
        history = await app.state.backend.get(official, "registry", "/imports", limit=20) \
            if official.has("county_office", "department") else None
        return await page(request, "uploads.html", history=history, today=date.today().isoformat())

    async def upload_of(form, field: str) -> tuple[str, bytes]:
        upload = form.get(field)
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise Problem("请选择文件 (choose a file)", title="Unprocessable", slug="validation",
                          errors=[{"field": field, "reason": "required"}])
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise Problem("文件过大 (the file is too large)", title="Payload too large", slug="too-large")
        return upload.filename, data

    @app.post("/uploads/registry", response_class=HTMLResponse)
    async def upload_registry(request: Request):
        official = official_of(request)
        form = await form_with_csrf(request)
        filename, data = await upload_of(form, "file")
        answer = await app.state.backend.call(official, "registry", "POST", "/imports", files={"file": (filename, data)},
                                              key=idempotency_key(official, "import", filename, data))
        return await page(request, "upload_result.html", 200 if answer.ok else answer.status, kind="建档立卡数据导入",
                    filename=filename, answer=answer)

    @app.post("/uploads/batch", response_class=HTMLResponse)
    async def upload_batch(request: Request):
        official = official_of(request)
        form = await form_with_csrf(request)
        filename, data = await upload_of(form, "file")
        envelope = {name: str(form.get(name) or "").strip() for name in ("batch_ref", "schedule_date", "document_no")}
        try:
            lines, total, count = batchfile.parse(filename, data)
        except Problem as exc:
            return await page(request, "upload_result.html", exc.status, kind="拨付批次", filename=filename,
                        answer=Answer(exc.status, exc.body()))
        body = {**envelope, "count": count, "total": total, "partial": form.get("partial") == "on", "lines": lines}
        answer = await app.state.backend.call(
            official, "funds", "POST", "/disbursement-batches", json=body,
            key=idempotency_key(official, "batch", *envelope.values(), data))
        return await page(request, "upload_result.html", 200 if answer.ok else answer.status, kind="拨付批次",
                    filename=filename, answer=answer, total=total, count=count)

    @app.get("/uploads/batch-template.csv")
    async def batch_template():
        return Response(batchfile.template_csv(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename*=UTF-8''" + quote("拨付批次模板.csv")})

    @app.get("/audit", response_class=HTMLResponse)
    async def audit(request: Request, year: Year | None = None, division: str | None = None):
        official = official_of(request)
        today = await service_today(official)
        year = year or today.year
        scope = division or (official.division if official.division != divisions.NATIONAL else "")
        scores = await app.state.backend.get(official, "audit", "/audit/scores", year=year, division=scope) \
            if scope else None
        return await page(request, "audit.html", year=year, scope=scope, scores=scores,
                    as_of=min(today, date(year, 12, 31)).isoformat(), auditor=official.has("auditor"))

    @app.get("/audit/report")
    async def audit_report(request: Request, as_of: str, division: str | None = None):
        official = official_of(request)
        answer = await app.state.backend.call(official, "audit", "GET", "/audit/report", raw=True,
                                              params={"as_of": as_of, "format": "html",
                                                      **({"division": division} if division else {})})
        if not answer.ok:
            return await page(request, "error.html", answer.status, title="审计报告", problem=_problem_of(answer))
        return HTMLResponse(answer.content, headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"})

    @app.get("/exports", response_class=HTMLResponse)
    async def exports_page(request: Request):
        official = official_of(request)
        return await page(request, "exports.html", year=await service_year(official))

    @app.get("/exports/{key}")
    async def export(request: Request, key: str, format: str = "csv", year: Year | None = None,
                     division: str | None = None):
        official = official_of(request)
        if key not in EXPORTS or format not in EXPORTS[key][3]:
            return await page(request, "error.html", 404, title="导出",
                        problem={"status": 404, "detail": f"没有这种导出 (no export {key!r} as {format!r})"})
        service, path, title, _ = EXPORTS[key]
        params: dict[str, Any] = {"division": division or official.division}
        if key != "roll":
            params["format"] = format
        if key in YEAR_PARAM:
            params[YEAR_PARAM[key]] = year or await service_year(official)
        if service == "audit":
            today = await service_today(official)
            params["as_of"] = min(today, date(year or today.year, 12, 31)).isoformat()
        answer = await app.state.backend.call(official, service, "GET", path, params=params, raw=True)
        if not answer.ok or "json" in answer.headers.get("content-type", ""):
            problem = _problem_of(answer) if not answer.ok else {
                "status": 501, "detail": f"{service}服务尚未提供此格式 (the {service} service answers JSON only here)"}
            return await page(request, "error.html", problem.get("status", 502), title=title, problem=problem)
        disposition = answer.headers.get("content-disposition") or \
            f"attachment; filename*=UTF-8''{quote(title)}.{format}"
        return Response(answer.content, media_type=answer.headers.get("content-type"),
                        headers={"Content-Disposition": disposition})

    return app


def announcement_counts(answers: dict[str, Answer]) -> dict[str, Any]:
    """公告公示 of the division by service: in their period, closed passed / failed, withdrawn (the
    newest 500 of each service); a service that refused is reported with its problem."""
    counts: dict[str, Any] = {}
    for service, answer in answers.items():
        if not answer.ok:
            counts[service] = answer
            continue
        tally = {"published": 0, "passed": 0, "failed": 0, "withdrawn": 0, "draft": 0}
        for item in answer.data["items"]:
            key = item["status"] if item["status"] != "closed" else ("passed" if item.get("outcome") == "passed"
                                                                     else "failed")
            tally[key] = tally.get(key, 0) + 1
        counts[service] = tally
    return counts


def _problem_of(answer: Answer) -> dict[str, Any]:
    return answer.problem
