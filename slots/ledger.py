"""The ledger of migration slots: tokens, requests and their answers, the audit log, re-planning.

Every state change runs in one transaction that first takes the ledger lock (BEGIN IMMEDIATE on SQLite,
SELECT … FOR UPDATE of the ``ledger_lock`` row on PostgreSQL), reads what is booked, decides with
slots.admission, writes the request and its audit entry, and bumps the ledger version. Parallel requests for
the last free capacity therefore see each other's bookings: exactly one is granted.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from egov.model import SourceOfTruth
from slots.admission import Booked, Booking, Decision, Province, admit
from slots.bandwidth import PathCapacity
from slots.db import AuditEntry, LedgerLock, Request, Token, make_engine, upgrade
from slots.request import RequestSpec, resolve
from slots.states import RequestStatus
from slots.weeks import week_label

if TYPE_CHECKING:
    from slots.planner import Plan

GRANTED, APPROVED, REFUSED, CANCELLED = (
    RequestStatus.GRANTED,
    RequestStatus.APPROVED,
    RequestStatus.REFUSED,
    RequestStatus.CANCELLED,
)
BOOKED = tuple(s for s in RequestStatus if s.holds_slot)


class LedgerError(Exception):
    """A request the ledger cannot carry out; ``status`` is the HTTP status it maps to."""

    status = 400


class NotFound(LedgerError):
    status = 404


class Forbidden(LedgerError):
    status = 403


class Conflict(LedgerError):
    status = 409


class Unprocessable(LedgerError):
    status = 422


@dataclass(frozen=True)
class Principal:
    """Who acts: a department (sees its own requests) or an operator (sees and decides everything)."""

    actor: str
    department: str | None = None
    operator: bool = False

    def may_see(self, department: str) -> bool:
        return self.operator or self.department == department


@dataclass(frozen=True)
class RequestView:
    """A request and its answer, as the API and the CLI show it."""

    id: int
    department: str
    status: RequestStatus
    spec: dict[str, Any]
    earliest_week: str
    latest_week: str
    granted_week: str | None
    suggested_week: str | None
    binding: str | None
    reason: str | None
    system_count: int
    idempotency_key: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class WeekLoad:
    """One week of the calendar: systems booked against the migration team's weekly throughput."""

    week: str
    booked_systems: int
    capacity: int
    blackout: str | None
    own_requests: tuple[int, ...]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _label(week: date | None) -> str | None:
    return None if week is None else week_label(week)


def view(row: Request) -> RequestView:
    return RequestView(
        id=row.id,
        department=row.department,
        status=RequestStatus(row.status),
        spec=json.loads(row.spec),
        earliest_week=week_label(row.earliest_week),
        latest_week=week_label(row.latest_week),
        granted_week=_label(row.granted_week),
        suggested_week=_label(row.suggested_week),
        binding=row.binding,
        reason=row.reason,
        system_count=row.system_count,
        idempotency_key=row.idempotency_key,
        created_at=row.created_at.isoformat() + "Z",
        updated_at=row.updated_at.isoformat() + "Z",
    )


class Ledger:
    """The slots ledger on one database, for one source of truth."""

    def __init__(
        self,
        url: str,
        source: SourceOfTruth,
        *,
        migrate: bool = True,
        paths: PathCapacity,
    ) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        # Reads (authentication, lists, the calendar, a plan not applied) do not queue behind admissions.
        self.reader: Engine = make_engine(url, writes=False) if url.startswith("sqlite") else self.engine
        self.province = Province(source, paths)
        if migrate:
            upgrade(self.engine)
        self._cache_guard = threading.Lock()
        self._admission_turn = threading.Lock()
        self._cache: tuple[int, Booked] | None = None

    def close(self) -> None:
        self.engine.dispose()
        self.reader.dispose()

    # --- transactions -------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[tuple[Session, LedgerLock]]:
        """A transaction holding the ledger lock; commits on success."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            # On SQLite the BEGIN IMMEDIATE already holds the write lock; FOR UPDATE is dropped there.
            lock = session.execute(
                select(LedgerLock).where(LedgerLock.id == 1).with_for_update()
            ).scalar_one()
            yield session, lock

    def _bump(self, session: Session, lock: LedgerLock) -> int:
        lock.version += 1
        session.flush()
        return lock.version

    def _audit(
        self, session: Session, principal: Principal, action: str, request_id: int | None, **detail: Any
    ) -> None:
        session.add(
            AuditEntry(
                at=_now(),
                actor=principal.actor,
                action=action,
                request_id=request_id,
                detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            )
        )

    # --- tokens -------------------------------------------------------------------------------------
    def create_token(self, department: str | None, *, operator: bool = False, label: str = "") -> str:
        """A new API token for ``department`` (or an operator); returns the token, stored only hashed."""
        if department is not None:
            self.province.source.department(department)  # KeyError for an unknown department
        if department is None and not operator:
            raise LedgerError("a department token needs a department")
        token = secrets.token_urlsafe(32)
        with self._locked() as (session, lock):
            row = Token(
                token_hash=hash_token(token),
                department=department,
                operator=operator,
                label=label,
                created_at=_now(),
                revoked=False,
            )
            session.add(row)
            session.flush()
            self._audit(
                session,
                Principal("cli", operator=True),
                "token.create",
                None,
                token_id=row.id,
                department=department,
                operator=operator,
            )
            self._bump(session, lock)
        return token

    def list_tokens(self) -> list[dict[str, Any]]:
        """Every token (never the token itself, which is not stored): id, holder, label, created, revoked."""
        with Session(self.reader) as session:
            return [
                {
                    "id": t.id,
                    "department": t.department,
                    "operator": t.operator,
                    "label": t.label,
                    "created_at": t.created_at.isoformat() + "Z",
                    "revoked": t.revoked,
                }
                for t in session.execute(select(Token).order_by(Token.id)).scalars()
            ]

    def revoke_token(self, principal: Principal, token_id: int) -> None:
        """Revoke a token: it authenticates no more."""
        if not principal.operator:
            raise Forbidden("only an operator revokes tokens")
        with self._locked() as (session, lock):
            row = session.get(Token, token_id)
            if row is None:
                raise NotFound(f"no token #{token_id}")
            if row.revoked:
                return
            row.revoked = True
            self._audit(
                session, principal, "token.revoke", None, token_id=token_id, department=row.department
            )
            self._bump(session, lock)

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a presented token, or None."""
        if not token or len(token) > 200:
            return None
        with Session(self.reader) as session:
            row = session.execute(
                select(Token).where(Token.token_hash == hash_token(token), Token.revoked.is_(False))
            ).scalar_one_or_none()
            if row is None:
                return None
            who = "operator" if row.operator else row.department
            return Principal(actor=f"token:{row.id}:{who}", department=row.department, operator=row.operator)

    # --- booked state -------------------------------------------------------------------------------
    def _bookings(self, session: Session) -> list[Booking]:
        rows = session.execute(
            select(Request).where(Request.status.in_(BOOKED)).order_by(Request.id)
        ).scalars()
        return [self._booking(row) for row in rows]

    def _booking(self, row: Request, week: date | None = None) -> Booking:
        spec = RequestSpec.model_validate_json(row.spec)
        systems = resolve(self.province.source, spec, row.id, self.province.by_id)
        chosen = week or row.granted_week
        assert chosen is not None
        return Booking(row.id, row.department, chosen, tuple(systems), spec.data_volume_gb)

    def _booked(self, session: Session, version: int) -> Booked:
        with self._cache_guard:
            if self._cache is not None and self._cache[0] == version:
                return self._cache[1]
        booked = Booked.of(self.province, self._bookings(session))
        with self._cache_guard:
            self._cache = (version, booked)
        return booked

    # --- requests -----------------------------------------------------------------------------------
    def submit(
        self, principal: Principal, spec: RequestSpec, idempotency_key: str | None = None
    ) -> tuple[RequestView, bool]:
        """Admit ``spec``: book the first feasible week of its window or record the refusal.

        Returns the request and whether it was created now (False: an idempotent retry of an earlier one).
        Raises SpecError for a request that contradicts the source of truth, Forbidden for another
        department's request, Conflict when the key was used for a different request."""
        if not principal.may_see(spec.department):
            raise Forbidden(f"a token of {principal.department} cannot request for {spec.department}")
        systems = resolve(self.province.source, spec, "new", self.province.by_id, principal.may_see)
        spec_json = json.dumps(spec.as_json(), ensure_ascii=False, sort_keys=True)
        # Threads of this process take turns before the database lock: the one that commits carries the
        # cached booked state forward before the next one reads it, so the cache never misses in-process.
        with self._admission_turn:
            with self._locked() as (session, lock):
                if idempotency_key is not None:
                    existing = session.execute(
                        select(Request).where(
                            Request.department == spec.department, Request.idempotency_key == idempotency_key
                        )
                    ).scalar_one_or_none()
                    if existing is not None:
                        if existing.spec != spec_json:
                            raise Conflict(
                                f"idempotency key {idempotency_key!r} was used for a different request"
                            )
                        return view(existing), False
                booked = self._booked(session, lock.version)
                decision = admit(self.province, booked, spec, systems)
                now = _now()
                row = Request(
                    department=spec.department,
                    status=GRANTED if decision.granted else REFUSED,
                    spec=spec_json,
                    earliest_week=spec.earliest_week,
                    latest_week=spec.latest_week,
                    granted_week=decision.granted_week,
                    suggested_week=decision.earliest_feasible_week,
                    binding=None if decision.binding is None else str(decision.binding.constraint),
                    reason=None if decision.granted else decision.explain(),
                    system_count=spec.system_count,
                    data_volume_gb=spec.data_volume_gb,
                    weight=spec.weight,
                    idempotency_key=idempotency_key,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                session.flush()
                self._audit(session, principal, "request." + row.status, row.id, **_decision_detail(decision))
                version = self._bump(session, lock)
                result = view(row)
            self._carry_forward(version, booked, row if decision.granted else None)
        return result, True

    def _carry_forward(self, version: int, before: Booked, granted: Request | None) -> None:
        """Carry the cached booked state to the committed ``version`` (plus the grant, if any) instead of
        rebuilding it from the database at the next admission."""
        with self._cache_guard:
            if self._cache is None or self._cache[0] != version - 1 or self._cache[1] is not before:
                return
            if granted is not None:
                before.add(self.province, self._booking(granted))
            self._cache = (version, before)

    def _get(self, session: Session, principal: Principal, request_id: int) -> Request:
        row = session.get(Request, request_id)
        # Another department's request is reported as absent: its existence is not theirs to know.
        if row is None or not principal.may_see(row.department):
            raise NotFound(f"no request #{request_id}")
        return row

    def get(self, principal: Principal, request_id: int) -> RequestView:
        with Session(self.reader) as session:
            return view(self._get(session, principal, request_id))

    def list_requests(self, principal: Principal, status: RequestStatus | None = None) -> list[RequestView]:
        with Session(self.reader) as session:
            query = select(Request).order_by(Request.id)
            if not principal.operator:
                query = query.where(Request.department == principal.department)
            if status is not None:
                query = query.where(Request.status == status)
            return [view(row) for row in session.execute(query).scalars()]

    def cancel(self, principal: Principal, request_id: int) -> RequestView:
        """Cancel a request (its department or an operator); its slot becomes free."""
        with self._locked() as (session, lock):
            row = self._get(session, principal, request_id)
            if row.status == CANCELLED:
                return view(row)
            previous = row.status
            row.status, row.updated_at = CANCELLED, _now()
            self._audit(session, principal, "request.cancelled", row.id, previous=previous)
            self._bump(session, lock)
            return view(row)

    def approve(self, principal: Principal, request_id: int) -> RequestView:
        """An operator confirms a granted slot: re-planning no longer moves it."""
        if not principal.operator:
            raise Forbidden("only an operator approves")
        with self._locked() as (session, lock):
            row = self._get(session, principal, request_id)
            if row.status == APPROVED:
                return view(row)
            if row.status != GRANTED:
                raise Conflict(
                    f"request #{request_id} is {row.status}; only a granted request can be approved"
                )
            row.status, row.updated_at = APPROVED, _now()
            self._audit(session, principal, "request.approved", row.id, week=_label(row.granted_week))
            self._bump(session, lock)
            return view(row)

    def calendar(self, principal: Principal) -> list[WeekLoad]:
        """Every week of the horizon with booked systems, blackouts, and the principal's own slots."""
        from slots.weeks import blackout_of, weeks

        planning = self.province.planning
        with Session(self.reader) as session:
            rows = session.execute(select(Request).where(Request.status.in_(BOOKED))).scalars().all()
        load: dict[date, int] = {}
        own: dict[date, list[int]] = {}
        for row in rows:
            assert row.granted_week is not None
            load[row.granted_week] = load.get(row.granted_week, 0) + row.system_count
            if principal.may_see(row.department):
                own.setdefault(row.granted_week, []).append(row.id)
        result = []
        for monday in weeks(self.province.first_week, self.province.last_week):
            blackout = blackout_of(planning, monday)
            result.append(
                WeekLoad(
                    week=week_label(monday),
                    booked_systems=load.get(monday, 0),
                    capacity=planning.migration_weekly_capacity,
                    blackout=None if blackout is None else blackout.name,
                    own_requests=tuple(sorted(own.get(monday, []))),
                )
            )
        return result

    def audit(self, principal: Principal, request_id: int | None = None) -> list[dict[str, Any]]:
        """The audit log (operators), oldest first."""
        if not principal.operator:
            raise Forbidden("only an operator reads the audit log")
        with Session(self.reader) as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if request_id is not None:
                query = query.where(AuditEntry.request_id == request_id)
            return [
                {
                    "id": e.id,
                    "at": e.at.isoformat() + "Z",
                    "actor": e.actor,
                    "action": e.action,
                    "request_id": e.request_id,
                    "detail": json.loads(e.detail),
                }
                for e in session.execute(query).scalars()
            ]

    # --- re-planning ----------------------------------------------------------------------------------
    def plan(self, principal: Principal, *, apply: bool = False, time_limit: float = 10.0) -> Plan:
        """Re-plan every granted (not approved) and refused request at once with CP-SAT; approved slots stay.

        Returns the plan with the first-come-first-served comparison. Without ``apply`` it reads a snapshot
        and admissions go on meanwhile; with ``apply`` it is computed and written (each move audited) in one
        transaction holding the ledger lock, so admissions wait for it."""
        if not principal.operator:
            raise Forbidden("only an operator re-plans")
        if not apply:
            with Session(self.reader) as session:
                return self._replan(session, time_limit)[0]
        with self._locked() as (session, lock):
            plan, rows = self._replan(session, time_limit)
            if not plan.changes:
                return plan
            now = _now()
            for request_id, week in plan.changes.items():
                row = rows[request_id]
                before = row.granted_week
                row.granted_week = week
                if week is not None:
                    row.status = GRANTED
                    row.suggested_week, row.binding, row.reason = None, None, None
                else:
                    row.status, row.binding = REFUSED, "replan"
                    row.reason = "refused by re-planning: no week of the window keeps every rule any more"
                row.updated_at = now
                self._audit(
                    session, principal, "request.replanned", row.id, before=_label(before), after=_label(week)
                )
            self._bump(session, lock)
            return plan

    def _replan(self, session: Session, time_limit: float) -> tuple[Plan, dict[int, Request]]:
        from slots.planner import PlanItem, PlanNotFound, replan

        rows = session.execute(
            select(Request).where(Request.status.in_((GRANTED, APPROVED, REFUSED))).order_by(Request.id)
        ).scalars()
        fixed: list[Booking] = []
        items: list[PlanItem] = []
        movable: dict[int, Request] = {}
        for row in rows:
            if row.status == APPROVED:
                fixed.append(self._booking(row))
                continue
            spec = RequestSpec.model_validate_json(row.spec)
            systems = resolve(self.province.source, spec, row.id, self.province.by_id)
            items.append(PlanItem(row.id, spec, tuple(systems), row.granted_week))
            movable[row.id] = row
        try:
            return replan(self.province, fixed, items, time_limit=time_limit), movable
        except (PlanNotFound, ValueError) as exc:
            raise Unprocessable(str(exc)) from None


def _decision_detail(decision: Decision) -> dict[str, Any]:
    return {
        "granted_week": _label(decision.granted_week),
        "earliest_feasible_week": _label(decision.earliest_feasible_week),
        "binding": None if decision.binding is None else str(decision.binding.constraint),
        "reason": None if decision.binding is None else decision.binding.message,
    }
