"""The vectorised inventory arithmetic agrees with the scalar one, which is Placement's rule."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.inventory import Inventory, InventoryArrays, how_many

inventories = st.builds(
    Inventory,
    total=st.integers(0, 512),
    reserved=st.integers(0, 64),
    allocation_ratio=st.sampled_from([0.5, 0.9, 1.0, 1.1, 1.5, 2.0, 3.3, 4.0, 16.0]),
    min_unit=st.integers(1, 4),
    max_unit=st.one_of(st.none(), st.integers(1, 600)),
    step_size=st.integers(1, 8),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(inventories, st.integers(0, 700)), min_size=1, max_size=12), st.integers(1, 64))
def test_arrays_agree_with_scalar(rows: list[tuple[Inventory, int]], amount: int) -> None:
    invs = [inv for inv, _ in rows]
    used = np.array([u for _, u in rows], dtype=np.int64)
    arrays = InventoryArrays.of(invs)
    assert arrays.capacity.tolist() == [inv.capacity for inv in invs]
    assert arrays.admits(amount).tolist() == [inv.admits(amount) for inv in invs]
    assert arrays.fits(used, amount).tolist() == [inv.fits(int(u), amount) for inv, u in rows]
    assert arrays.how_many(used, amount).tolist() == [how_many(inv, int(u), amount) for inv, u in rows]


def test_fits_is_placements_rule_by_hand() -> None:
    # (64 − 4) × 4.0 = 240 VCPU; 236 used: 4 more fit, 5 do not.
    inv = Inventory(total=64, reserved=4, allocation_ratio=4.0)
    assert inv.fits(236, 4) and not inv.fits(236, 5)
    # max_unit 16: a 32-vCPU request is refused even on an empty host; step 2 refuses odd requests.
    capped = Inventory(total=64, allocation_ratio=4.0, max_unit=16, step_size=2)
    assert not capped.fits(0, 32) and not capped.fits(0, 3) and capped.fits(0, 16)
    assert how_many(inv, 200, 16) == 2
    assert InventoryArrays.of([inv, capped]).how_many(np.array([200, 0]), 16).tolist() == [2, 16]
