"""The rate at which a department's migration data can cross the backbone to the cloud DC in a month: the
free capacity of its routed paths (network.linkload.free_capacity_to_dc), the one seam through which slots
reads it.

The backbone model owns the figure: OSPF costs and ECMP as the network routes (network.paths), the steady
government-service and internet traffic of every site month by month (network.traffic), the target
utilisation of data/traffic.yaml. The planned migration transfers are left out of that load: what is booked
is the ledger's business, and the transfer rule adds the department's booked data itself (slots.rules).
Tests hand admission another figure (``Province(source, paths=FixedRate(…))``).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from egov.errors import SourceError
from egov.months import months_between
from egov.units import magnitude_in
from network.params import DATA_DIR

if TYPE_CHECKING:
    import pint

    from network.linkload import LoadModel


@dataclass(frozen=True)
class FreePath:
    """A department's free rate toward the cloud DC in one month and, in plain words, what limits it."""

    rate: float  # bit/s
    binding: str


class PathCapacity(Protocol):
    """Free rate of a department's path to the cloud DC in a month (the first of the month)."""

    def free(self, department: str, month: date) -> FreePath: ...

    def load(self) -> None:
        """Read what ``free`` needs now, so that bad input shows before the first request."""
        ...


class FixedRate:
    """The same free rate for every department in every month (tests; a what-if without the backbone)."""

    def __init__(self, rate: pint.Quantity, binding: str = "a fixed rate") -> None:
        self._free = FreePath(magnitude_in(rate, "bit/s"), binding)

    def free(self, department: str, month: date) -> FreePath:
        return self._free

    def load(self) -> None:
        """Nothing to read."""


class RoutedPaths:
    """The routed backbone of a data directory (the source of truth's own: ``--data``), loaded on first use,
    once; each department's months are computed together the first time it is asked for."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self._guard = threading.Lock()
        self._loaded: tuple[LoadModel, float] | None = None
        self._per_department: dict[str, tuple[np.ndarray, list[str]]] = {}

    def free(self, department: str, month: date) -> FreePath:
        with self._guard:
            series = self._per_department.get(department)
            if series is None:
                series = self._per_department[department] = self._series(department)
            model, _ = self._model()
        m = months_between(model.demand.months[0], month)
        if not 0 <= m < model.months:
            raise ValueError(f"month {month:%Y-%m} is outside the backbone's horizon")
        rates, bindings = series
        return FreePath(float(rates[m]), bindings[m])

    def load(self) -> None:
        """Read the backbone now (SourceError / SourceErrors naming file, row and field on bad input)."""
        with self._guard:
            self._model()

    def _model(self) -> tuple[LoadModel, float]:
        if self._loaded is None:
            from network.linkload import LoadModel, load_capacity_inputs

            inputs = load_capacity_inputs(self.data_dir)
            steady = dataclasses.replace(inputs.model.demand, transfers=[])
            self._loaded = (LoadModel(inputs.graph, steady), inputs.params.target_utilisation)
        return self._loaded

    def _series(self, department: str) -> tuple[np.ndarray, list[str]]:
        from network.capacity_present import rate_text
        from network.linkload import free_capacity_to_dc

        model, target = self._model()
        try:
            rates, arcs = free_capacity_to_dc(model, target, department)
        except KeyError:
            where = (self.data_dir or DATA_DIR) / "network.yaml"
            message = f"department {department!r} has no access link in the backbone"
            raise SourceError(where, message) from None
        graph = model.graph
        words = {}
        for arc in sorted(set(arcs.tolist())):
            if arc < 0:
                words[arc] = f"{department} reaches no link to the cloud DC"
                continue
            a = graph.arcs[arc]
            circuit = graph.circuits[a.circuit]
            words[arc] = (
                f"the link {a.tail} → {a.head} ({circuit.tier}, {rate_text(circuit.capacity)}) "
                f"at the {target * 100:g} % target"
            )
        return rates, [words[int(a)] for a in arcs]
