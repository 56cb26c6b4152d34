"""Placement's capacity arithmetic, in exactly one place.

For one resource provider and resource class, OpenStack Placement keeps an inventory (total, reserved,
allocation_ratio, min_unit, max_unit, step_size); its capacity is (total − reserved) × allocation_ratio and
a request of ``amount`` fits when used + amount ≤ capacity and min_unit ≤ amount ≤ max_unit in multiples of
step_size. Supply, the fit simulator and the live Placement source all call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass


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
