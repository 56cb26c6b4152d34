"""Rules of admission as objects: a new rule is one object in the province's list, and first-come admission
and the CP-SAT re-plan both honour it (tiny cloud of conftest: 2 systems a week by the planning)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from slotkit import TINY_PATHS

from egov.model import SourceOfTruth
from slots.admission import Booked, Candidate, Province, admit
from slots.planner import PlanItem, PlanModel, replan
from slots.request import RequestSpec, resolve
from slots.rules import RULES, Blocked
from slots.weeks import parse_week, week_label


@dataclass(frozen=True)
class OneCrew:
    """A rule the code has never seen: one cut-over crew, so at most ``limit`` systems in any week — stricter
    than the planning's throughput of 2."""

    limit: int = 1
    constraint: str = "crew"

    def check(self, booked: Booked, candidate: Candidate, monday: date) -> Blocked | None:
        if booked.systems_per_week[monday] + len(candidate.systems) <= self.limit:
            return None
        return Blocked(monday, self.constraint, f"crew: {week_label(monday)} already has its system")

    def allows(self, plan: PlanModel, candidate: Candidate, monday: date) -> bool:
        return plan.fixed.systems_per_week[monday] + len(candidate.systems) <= self.limit

    def constrain(self, plan: PlanModel) -> None:
        per_week: dict[date, list[tuple[int, object]]] = {}
        for (rid, monday), var in plan.week.items():
            per_week.setdefault(monday, []).append((len(plan.items[rid].systems), var))
        for monday, terms in per_week.items():
            room = self.limit - plan.fixed.systems_per_week[monday]
            plan.add_at_most([v for _, v in terms], [c for c, _ in terms], room)  # type: ignore[misc]


def items_of(p: Province, *ids: str) -> list[PlanItem]:
    items = []
    for n, system_id in enumerate(ids, start=1):
        spec = RequestSpec.model_validate(
            {
                "department": "AAA",
                "systems": [system_id],
                "earliest_week": "2027-W02",
                "latest_week": "2027-W04",
            }
        )
        items.append(PlanItem(n, spec, tuple(resolve(p.source, spec, n, p.by_id)), None))
    return items


def test_a_new_rule_object_is_honoured_by_admission_and_by_the_replan(tiny: SourceOfTruth) -> None:
    plain = Province(tiny, paths=TINY_PATHS)
    crewed = Province(tiny, paths=TINY_PATHS, rules=(*RULES, OneCrew()))
    first = items_of(plain, "AAA-1")[0]
    second = items_of(plain, "AAA-1", "AAA-2")[1]
    for province, week in ((plain, "2027-W02"), (crewed, "2027-W03")):
        booked = Booked()
        booked.add(province, _booking(first, parse_week("2027-W02")))
        assert admit(province, booked, second.spec, second.systems).granted_week == parse_week(week)
    # A window of W02 only: the new rule is the binding constraint, with its own sentence.
    booked = Booked()
    booked.add(crewed, _booking(first, parse_week("2027-W02")))
    only_w02 = second.spec.model_copy(update={"latest_week": parse_week("2027-W02")})
    refused = admit(crewed, booked, only_w02, second.systems)
    assert refused.binding is not None and refused.binding.constraint == "crew"
    assert refused.explain() == (
        "refused: crew: 2027-W02 already has its system; earliest feasible week: 2027-W03"
    )
    # Re-plan three one-system requests of W02–W04: two a week by the planning (delay 0 + 0 + 1), one a week
    # with the crew rule (0 + 1 + 2).
    for province, delay in ((plain, 1), (crewed, 3)):
        plan = replan(province, [], items_of(province, "AAA-1", "AAA-2", "AAA-3"))
        assert plan.status == "OPTIMAL" and plan.optimal.admitted == 3
        assert plan.optimal.weighted_delay == delay
        weeks = sorted(w for w in plan.optimal.weeks.values() if w is not None)
        assert (len(set(weeks)) == 3) is (province is crewed)


def _booking(item: PlanItem, week: date):  # type: ignore[no-untyped-def]
    from slots.admission import Booking

    return Booking(item.request_id, item.spec.department, week, item.systems, item.spec.data_volume_gb)


def test_a_plan_without_any_delay_to_weigh_is_solved(tiny: SourceOfTruth) -> None:
    """One week variable, of delay 0 (the other request's only week is blacked out): OR-Tools builds the delay
    as a constant that cannot be added to the admission penalty (a TypeError the stream property found)."""
    province = Province(tiny, paths=TINY_PATHS)
    items = []
    for n, (system_id, week) in enumerate((("AAA-1", "2027-W02"), ("AAA-2", "2027-W06")), start=1):
        spec = RequestSpec.model_validate(
            {"department": "AAA", "systems": [system_id], "earliest_week": week, "latest_week": week}
        )
        current = parse_week(week) if n == 1 else None
        items.append(PlanItem(n, spec, tuple(resolve(province.source, spec, n, province.by_id)), current))
    plan = replan(province, [], items)
    assert (plan.status, plan.optimal.admitted, plan.optimal.weighted_delay) == ("OPTIMAL", 1, 0)
