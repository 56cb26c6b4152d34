"""The slots HTTP API (FastAPI, OpenAPI at /openapi.json) and the departments' web page at /.

Handlers only translate: they authenticate the bearer token, validate the payload, call slots.ledger, and
map its errors to HTTP statuses. They never compute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slots.ledger import Ledger, LedgerError, Principal, RequestView
from slots.planner import MAX_TIME_LIMIT
from slots.request import RequestFields, RequestSpec, SpecError
from slots.states import RequestStatus

#: A request body is at most 500 system ids and 100 ad-hoc systems: a few dozen KiB. Larger is refused unread.
MAX_BODY_BYTES = 256 * 1024
RequestId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class RequestIn(RequestFields):
    """A migration request. ``department`` defaults to the token's."""

    department: str | None = Field(default=None, min_length=1, max_length=16)


class RequestOut(BaseModel):
    id: int
    department: str
    status: RequestStatus
    spec: dict[str, Any]
    earliest_week: str
    latest_week: str
    granted_week: str | None
    suggested_week: str | None = Field(description="earliest feasible week after the window, when refused")
    binding: str | None = Field(description="the binding constraint of a refusal")
    reason: str | None
    system_count: int
    idempotency_key: str | None
    created_at: str
    updated_at: str


class WeekOut(BaseModel):
    week: str
    booked_systems: int
    capacity: int
    blackout: str | None
    own_requests: list[int]


class Me(BaseModel):
    department: str | None
    operator: bool


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    apply: bool = False
    time_limit: float = Field(
        default=10.0, ge=0.1, le=MAX_TIME_LIMIT, description="CP-SAT deterministic time limit"
    )


class ScheduleOut(BaseModel):
    admitted: int
    weighted_delay_weeks: int
    weeks: dict[str, str | None] = Field(description="request id → week (null: not admitted)")


class GainOut(BaseModel):
    weighted_delay_weeks: int = Field(description="weeks × weight saved over first come, first served")
    admitted: int = Field(description="requests admitted beyond first come, first served")


class PlanOut(BaseModel):
    status: str = Field(description="CP-SAT status: OPTIMAL or FEASIBLE")
    variables: int
    time_limit: float = Field(description="the deterministic time limit the solve ran under")
    time_limit_reached: bool = Field(
        description="the solver stopped at the limit: the plan is feasible, not proven optimal"
    )
    optimal: ScheduleOut
    first_come_first_served: ScheduleOut
    current: ScheduleOut
    gain: GainOut
    changes: dict[str, str | None] = Field(description="request id → new week (null: refused on apply)")


class AuditOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    request_id: int | None
    detail: dict[str, Any]


class Problem(BaseModel):
    detail: Any


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is answered 413 — by its Content-Length before a
    byte is read, or as soon as a chunked body passes the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, f"request body over {self.limit} bytes")
            return message

        await self.app(scope, bounded, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": f"request body over {self.limit} bytes"}, status_code=413)
        await response(scope, receive, send)


def known_query_only(request: Request) -> None:
    """422 for a query parameter an API operation does not declare: a typo ('?stauts=granted') must not
    silently widen the answer."""
    route = request.scope.get("route")
    if route is None or not request.url.path.startswith("/api/"):
        return
    operation = request.app.openapi()["paths"][route.path_format][request.method.lower()]
    known = {param["name"] for param in operation.get("parameters", []) if param["in"] == "query"}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise HTTPException(
            422, [{"loc": ["query", n], "msg": f"unknown query parameter {n[:60]!r}"} for n in unknown]
        )


bearer = HTTPBearer(auto_error=False, description="API token from `egov slots token create`")


def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The holder of the bearer token; 401 without a valid one."""
    ledger: Ledger = request.app.state.ledger
    found = ledger.authenticate(credentials.credentials) if credentials else None
    if found is None:
        raise HTTPException(401, "missing or unknown API token", headers={"WWW-Authenticate": "Bearer"})
    return found


Who = Annotated[Principal, Depends(principal)]


def _out(view: RequestView) -> RequestOut:
    return RequestOut(**view.__dict__)


#: The error answers every API operation documents (400: a body that is not JSON; 413: over MAX_BODY_BYTES).
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 409, 413, 422)
}


def ledger_error(_request: Request, exc: LedgerError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


def spec_error(_request: Request, exc: SpecError) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": ["body", exc.field], "msg": exc.message}]}, status_code=422)


def validation_error(_request: Request, exc: ValidationError) -> JSONResponse:
    detail = [{"loc": ["body", *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)


def request_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    detail = [{"loc": list(e.get("loc", [])), "msg": e.get("msg", "")} for e in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)


ERROR_HANDLERS: dict[type[Exception], Callable[[Request, Any], JSONResponse]] = {
    LedgerError: ledger_error,
    SpecError: spec_error,
    ValidationError: validation_error,
    RequestValidationError: request_validation_error,
}


def the_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


TheLedger = Annotated[Ledger, Depends(the_ledger)]
api = APIRouter()


@api.get("/api/me", response_model=Me, responses=ERRORS)
def me(who: Who) -> Me:
    """Who the token belongs to."""
    return Me(department=who.department, operator=who.operator)


@api.post("/api/requests", response_model=RequestOut, status_code=201, responses=ERRORS)
def submit(
    body: RequestIn,
    who: Who,
    ledger: TheLedger,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=128, min_length=1)] = None,
) -> RequestOut:
    """Request a slot. The answer is the granted week, or a refusal with its binding constraint and the
    earliest feasible week. Retrying with the same Idempotency-Key returns the first answer (200)."""
    department = body.department or who.department
    if department is None:
        raise HTTPException(422, [{"loc": ["body", "department"], "msg": "an operator names the department"}])
    spec = RequestSpec.model_validate({**body.model_dump(mode="json"), "department": department})
    view, created = ledger.submit(who, spec, idempotency_key)
    if not created:
        response.status_code = 200
    return _out(view)


@api.get("/api/requests", response_model=list[RequestOut], responses=ERRORS)
def list_requests(
    who: Who,
    ledger: TheLedger,
    status: RequestStatus | None = None,
) -> list[RequestOut]:
    """The token's department's requests (an operator sees all)."""
    return [_out(v) for v in ledger.list_requests(who, status)]


@api.get("/api/requests/{request_id}", response_model=RequestOut, responses=ERRORS)
def get_request(request_id: RequestId, who: Who, ledger: TheLedger) -> RequestOut:
    return _out(ledger.get(who, request_id))


@api.post("/api/requests/{request_id}/cancel", response_model=RequestOut, responses=ERRORS)
def cancel(request_id: RequestId, who: Who, ledger: TheLedger) -> RequestOut:
    """Cancel a request; its slot is freed."""
    return _out(ledger.cancel(who, request_id))


@api.post("/api/requests/{request_id}/approve", response_model=RequestOut, responses=ERRORS)
def approve(request_id: RequestId, who: Who, ledger: TheLedger) -> RequestOut:
    """Operators: confirm a granted slot (re-planning no longer moves it)."""
    return _out(ledger.approve(who, request_id))


@api.get("/api/calendar", response_model=list[WeekOut], responses=ERRORS)
def calendar(who: Who, ledger: TheLedger) -> list[WeekOut]:
    """Every week of the horizon: systems booked of the weekly throughput, blackouts, own slots."""
    return [WeekOut(**{**w.__dict__, "own_requests": list(w.own_requests)}) for w in ledger.calendar(who)]


@api.post("/api/plan", response_model=PlanOut, responses=ERRORS)
def plan(body: PlanIn, who: Who, ledger: TheLedger) -> PlanOut:
    """Operators: re-plan all granted and refused requests optimally (CP-SAT), with the gain over
    first-come-first-served; ``apply`` writes the new weeks."""
    return PlanOut.model_validate(ledger.plan(who, apply=body.apply, time_limit=body.time_limit).as_json())


@api.get("/api/audit", response_model=list[AuditOut], responses=ERRORS)
def audit(
    who: Who, ledger: TheLedger, request_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None
) -> list[dict[str, Any]]:
    """Operators: the audit log, oldest first."""
    return ledger.audit(who, request_id)


def create_app(ledger: Ledger) -> FastAPI:
    """The FastAPI application serving ``ledger``."""
    app = FastAPI(
        dependencies=[Depends(known_query_only)],
        title="egov migration slots",
        version="1",
        description="Departments request migration slots; the plan admits what five-year capacity carries.",
    )
    app.state.ledger = ledger
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)

    for error, handler in ERROR_HANDLERS.items():
        app.add_exception_handler(error, handler)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page(
        lang: Annotated[str | None, Query(max_length=16)] = None,
        accept_language: Annotated[str | None, Header()] = None,
    ) -> HTMLResponse:
        """The page in ?lang= or the browser's Accept-Language, Chinese by default (egov.i18n)."""
        from egov.i18n import negotiate
        from slots.page import render_page

        code = negotiate(lang, accept_language)
        headers = {"Content-Language": code.replace("_", "-"), "Vary": "Accept-Language"}
        return HTMLResponse(render_page(ledger.province, code), headers=headers)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(api)
    return app


def from_env() -> FastAPI:
    """The app for an ASGI server with several workers, configured by the environment:
    ``EGOV_SLOTS_DB`` (ledger URL, default sqlite:///slots.sqlite) and ``EGOV_DATA`` (source of truth).

    gunicorn -w 4 -k uvicorn.workers.UvicornWorker 'slots.api:from_env()'
    """
    import os
    from pathlib import Path

    from egov.source import load_source
    from slots.bandwidth import RoutedPaths
    from slots.db import DEFAULT_URL

    data = os.environ.get("EGOV_DATA")
    paths = RoutedPaths(Path(data) if data else None)
    paths.load()  # bad backbone data stops the worker now, not its first request
    return create_app(Ledger(os.environ.get("EGOV_SLOTS_DB", DEFAULT_URL), load_source(data), paths=paths))
