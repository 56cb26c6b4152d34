"""Properties over random request streams on the tiny cloud: every grant of first come, first served keeps
every rule when replayed, and the CP-SAT plan is never worse than first come, first served."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from slotkit import TINY_PATHS, write_tiny

from egov.source import load_source
from slots.admission import Booked, Booking, Province, admit
from slots.planner import PlanItem, replan, verify
from slots.request import RequestSpec, resolve
from slots.weeks import week_label

request = st.fixed_dictionaries(
    {
        "department": st.sampled_from(["AAA", "BBB"]),
        "vcpu": st.integers(0, 45),
        "growth": st.sampled_from(["0%", "20%", "60%"]),
        "first": st.integers(1, 8),
        "span": st.integers(0, 4),
        "tb": st.sampled_from([0, 10, 20, 30]),
        "weight": st.integers(1, 5),
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(stream=st.lists(request, min_size=2, max_size=9))
def test_grants_keep_every_rule_and_the_plan_beats_fcfs(tmp_path_factory, stream) -> None:  # type: ignore[no-untyped-def]
    data: Path = write_tiny(tmp_path_factory.mktemp("d"), weekly=2)
    province = Province(load_source(data), paths=TINY_PATHS)
    booked = Booked()
    items = []
    for n, r in enumerate(stream, start=1):
        spec = RequestSpec.model_validate(
            {
                "department": r["department"],
                "adhoc": [{"name": f"s{n}", "az": "az-1", "vcpu": r["vcpu"], "annual_growth": r["growth"]}],
                "earliest_week": f"2027-W{r['first']:02d}",
                "latest_week": f"2027-W{r['first'] + r['span']:02d}",
                "data_volume": f"{r['tb']} TB",
                "weight": r["weight"],
            }
        )
        systems = tuple(resolve(province.source, spec, n, province.by_id))
        decision = admit(province, booked, spec, systems)
        if decision.granted_week is not None:
            booked.add(
                province, Booking(n, spec.department, decision.granted_week, systems, spec.data_volume_gb)
            )
        else:
            assert decision.binding is not None and decision.binding.message
        items.append(PlanItem(n, spec, systems, decision.granted_week))
    weeks = {i.request_id: i.current_week for i in items}
    assert verify(province, [], items, weeks) is None, {k: v and week_label(v) for k, v in weeks.items()}
    plan = replan(province, [], items, time_limit=5)
    assert plan.fcfs.weeks == weeks  # the FCFS replay gives the answers the departments got
    assert plan.optimal.admitted >= plan.fcfs.admitted
    if plan.optimal.admitted == plan.fcfs.admitted:
        assert plan.optimal.weighted_delay <= plan.fcfs.weighted_delay
    # Nobody granted loses the slot to re-planning.
    assert all(plan.optimal.weeks[i.request_id] is not None for i in items if i.current_week is not None)


#: Texts a hostile or careless client may send as a size: junk, near-misses of the grammar, expressions.
size_text = st.one_of(
    st.text(max_size=40),
    st.builds(
        "{}{}{}{}".format,
        st.from_regex(r"\A[0-9]{1,30}(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,4})?\Z"),
        st.sampled_from(["", " ", "  "]),
        st.sampled_from(["TB", "GiB", "B", "EB", "PB", "kB", "XB", "furlongs", "%", "TB TB", ""]),
        st.sampled_from(["", " ", "**9", "**400", ")"]),
    ),
    st.builds("{} {}".format, st.integers(0, 10**420), st.sampled_from(["TB", "B", "GiB"])),
    st.builds("({}**{}**{}) TB".format, st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)),
)


@settings(max_examples=300, deadline=1000, suppress_health_check=list(HealthCheck), database=None)
@given(text=size_text)
def test_any_size_text_is_a_bounded_size_or_a_named_error(text: str) -> None:
    """Never a hang (deadline 1 s each), never an exception other than the validation error naming the
    field: either a size below 1 EB or a 'data_volume' error."""
    try:
        spec = RequestSpec.model_validate(
            {"department": "AAA", "systems": ["AAA-1"], "earliest_week": "2027-W02"}
            | {"latest_week": "2027-W02", "data_volume": text}
        )
    except ValidationError as exc:
        assert [e["loc"] for e in exc.errors()] == [("data_volume",)]
        return
    assert 0 <= spec.data_volume.to("byte").magnitude <= 1e18
