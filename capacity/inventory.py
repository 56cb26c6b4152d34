"""Placement's capacity arithmetic, in exactly one place.

For one resource provider and resource class, OpenStack Placement keeps an inventory (total, reserved,
allocation_ratio, min_unit, max_unit, step_size); its capacity is (total − reserved) × allocation_ratio and
a request of ``amount`` fits when used + amount ≤ capacity and min_unit ≤ amount ≤ max_unit in multiples of
step_size. Supply, the fit simulator and the live Placement source all call these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Inventory:
    """One resource class's inventory on one resource provider, in Placement's integer units."""

    total: int
    reserved: int = 0
    allocation_ratio: float = 1.0
    min_unit: int = 1
    max_unit: int | None = None
    step_size: int = 1

    @property
    def capacity(self) -> float:
        """(total − reserved) × allocation_ratio, as Placement computes it (a float, not rounded)."""
        return usable_capacity(self.total, self.reserved, self.allocation_ratio)

    def admits(self, amount: int) -> bool:
        """Whether a single request of ``amount`` passes min_unit, max_unit and step_size."""
        max_unit = self.total if self.max_unit is None else self.max_unit
        return self.min_unit <= amount <= max_unit and amount % self.step_size == 0

    def fits(self, used: float, amount: int) -> bool:
        """Whether ``amount`` more fits beside ``used``, as Placement decides a claim."""
        return self.admits(amount) and used + amount <= self.capacity


def usable_capacity(total: float, reserved: float, allocation_ratio: float) -> float:
    """(total − reserved) × allocation_ratio; never negative."""
    return max(0.0, (total - reserved) * allocation_ratio)


#: Placement's max_unit when an inventory is written without one (its database column's MAX_INT).
PLACEMENT_MAX_UNIT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class InventoryArrays:
    """One resource class's inventories on many providers, as numpy arrays: the vectorised twin of
    :class:`Inventory` (same arithmetic, property-tested to agree)."""

    total: np.ndarray  # int64
    reserved: np.ndarray  # int64
    allocation_ratio: np.ndarray  # float64
    min_unit: np.ndarray  # int64
    max_unit: np.ndarray  # int64 (an Inventory's None resolved to its total)
    step_size: np.ndarray  # int64

    @classmethod
    def of(cls, inventories: Sequence[Inventory]) -> InventoryArrays:
        """Stack scalar inventories into arrays (max_unit None → total, as :meth:`Inventory.admits`)."""
        return cls(
            total=np.array([i.total for i in inventories], dtype=np.int64),
            reserved=np.array([i.reserved for i in inventories], dtype=np.int64),
            allocation_ratio=np.array([i.allocation_ratio for i in inventories], dtype=np.float64),
            min_unit=np.array([i.min_unit for i in inventories], dtype=np.int64),
            max_unit=np.array(
                [i.total if i.max_unit is None else i.max_unit for i in inventories], dtype=np.int64
            ),
            step_size=np.array([i.step_size for i in inventories], dtype=np.int64),
        )

    @property
    def capacity(self) -> np.ndarray:
        """(total − reserved) × allocation_ratio per provider, never negative (float64, as Placement)."""
        return np.maximum(0.0, (self.total - self.reserved) * self.allocation_ratio)

    def admits(self, amount: int) -> np.ndarray:
        """Per provider: whether one request of ``amount`` passes min_unit, max_unit and step_size."""
        return (self.min_unit <= amount) & (amount <= self.max_unit) & (amount % self.step_size == 0)

    def has_room(self, used: np.ndarray, amount: int, capacity: np.ndarray | None = None) -> np.ndarray:
        """Per provider: whether used + amount ≤ capacity (the capacity half of :meth:`fits`)."""
        return has_room(used, amount, self.capacity if capacity is None else capacity)

    def fits(self, used: np.ndarray, amount: int, capacity: np.ndarray | None = None) -> np.ndarray:
        """Per provider: whether ``amount`` more fits beside ``used`` (pass ``capacity`` to reuse it)."""
        return self.admits(amount) & self.has_room(used, amount, capacity)

    def part(self, where: slice) -> InventoryArrays:
        """The inventories of the providers in ``where`` (views, no copy)."""
        return InventoryArrays(
            self.total[where],
            self.reserved[where],
            self.allocation_ratio[where],
            self.min_unit[where],
            self.max_unit[where],
            self.step_size[where],
        )

    def how_many(self, used: np.ndarray, amount: int, capacity: np.ndarray | None = None) -> np.ndarray:
        """Per provider: the most claims of ``amount`` each that fit one after another beside ``used``
        (0 where a single one is not admitted). Exact: the float division is corrected so that
        used + n × amount ≤ capacity < used + (n + 1) × amount, as n successive claims would find."""
        n = claims_that_fit(used, amount, self.capacity if capacity is None else capacity)
        return np.where(self.admits(amount), n, 0)


def has_room(used: np.ndarray, amount: int | np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Elementwise: whether used + amount ≤ capacity. Broadcasts, so the fit checks every resource class of a
    request at once (``used``/``capacity`` rows × providers, ``amount`` a column)."""
    return used + amount <= capacity


def claims_that_fit(used: np.ndarray, amount: int | np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Elementwise: the most claims of ``amount`` that fit one after another beside ``used``, ignoring
    min_unit/max_unit/step_size (:meth:`InventoryArrays.how_many` adds them). Exact: the float division is
    corrected so that used + n × amount ≤ capacity < used + (n + 1) × amount. Broadcasts as
    :func:`has_room`."""
    n = np.floor(np.maximum(capacity - used, 0.0) / amount).astype(np.int64)
    n = np.where(used + (n + 1) * amount <= capacity, n + 1, n)
    return np.where((n > 0) & (used + n * amount > capacity), n - 1, n)


def how_many(inventory: Inventory, used: float, amount: int) -> int:
    """The scalar twin of :meth:`InventoryArrays.how_many`: claims of ``amount`` that fit one by one."""
    if not inventory.admits(amount):
        return 0
    n = 0
    while inventory.fits(used + n * amount, amount):
        n += 1
    return n
