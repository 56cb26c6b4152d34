"""What a department's migration data crosses on the backbone to the cloud DC in a month: the links of its
routed paths (network.linkload.unit_flow_to_dc), the share of its transfer on each (ECMP) and each link's
free capacity — the one seam through which slots reads the backbone.

The backbone model owns the figures: OSPF costs and ECMP as the network routes (network.paths), the steady
government-service and internet traffic of every site month by month (network.traffic), the target
utilisation of data/traffic.yaml. The planned migration transfers are left out of that load: what is booked
is the ledger's business, and the transfer rule adds every department's booked data on each shared link
itself (slots.rules.Transfer). The free capacity is a link rate, used as is: no TCP efficiency on top (the
target utilisation is the margin). Tests hand admission other links (``Province(source, paths=FixedRate(…))``
or a class of their own).
"""

from __future__ import annotations

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
class PathLink:
    """One link (a circuit in one direction) of a department's routed paths to the cloud DC in a month."""

    key: str  # the same link has the same key on every department's path
    share: float  # the fraction of the department's transfer crossing it (ECMP splits it)
    free: float  # bit/s it carries on top of the month's steady traffic within the target utilisation
    name: str  # in plain words, for a refusal


@dataclass(frozen=True)
class FreePath:
    """A department's free rate toward the cloud DC in one month, alone on its links, and what limits it."""

    rate: float  # bit/s
    binding: str

    @classmethod
    def of(cls, links: tuple[PathLink, ...]) -> FreePath:
        """The most the department alone can send: the link with the least free capacity per unit share."""
        tightest = min(links, key=lambda link: (link.free / link.share, link.key))
        return cls(tightest.free / tightest.share, tightest.name)


class PathCapacity(Protocol):
    """The links of a department's paths to the cloud DC in a month (the first of the month)."""

    def links(self, department: str, month: date) -> tuple[PathLink, ...]:
        """At least one link; a department that reaches no link has one with nothing free, saying so."""
        ...

    def load(self) -> None:
        """Read what ``links`` needs now, so that bad input shows before the first request."""
        ...


class FixedRate:
    """Every department alone on a path of its own with the same free rate in every month (tests; a what-if
    without the backbone): departments never share a link."""

    def __init__(self, rate: pint.Quantity, binding: str = "a fixed rate") -> None:
        self._rate, self._binding = magnitude_in(rate, "bit/s"), binding

    def links(self, department: str, month: date) -> tuple[PathLink, ...]:
        return (PathLink(f"{department}: {self._binding}", 1.0, self._rate, self._binding),)

    def load(self) -> None:
        """Nothing to read."""


class RoutedPaths:
    """The routed backbone of a data directory (the source of truth's own: ``--data``), loaded on first use,
    once; each department's route is computed the first time it is asked for."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self._guard = threading.Lock()
        self._loaded: _Backbone | None = None
        self._routes: dict[str, tuple[tuple[int, float], ...]] = {}
        self._links: dict[tuple[str, int], tuple[PathLink, ...]] = {}

    def links(self, department: str, month: date) -> tuple[PathLink, ...]:
        with self._guard:
            backbone = self._backbone()
            m = months_between(backbone.model.demand.months[0], month)
            if not 0 <= m < backbone.model.months:
                raise ValueError(f"month {month:%Y-%m} is outside the backbone's horizon")
            found = self._links.get((department, m))
            if found is None:
                route = self._routes.get(department)
                if route is None:
                    route = self._routes[department] = self._route(backbone, department)
                found = self._links[(department, m)] = backbone.links(department, route, m)
            return found

    def load(self) -> None:
        """Read the backbone now (SourceError / SourceErrors naming file, row and field on bad input)."""
        with self._guard:
            self._backbone()

    def _backbone(self) -> _Backbone:
        if self._loaded is None:
            self._loaded = _Backbone.load(self.data_dir)
        return self._loaded

    def _route(self, backbone: _Backbone, department: str) -> tuple[tuple[int, float], ...]:
        from network.linkload import unit_flow_to_dc

        try:
            flow = unit_flow_to_dc(backbone.model, department)
        except KeyError:
            where = (self.data_dir or DATA_DIR) / "network.yaml"
            message = f"department {department!r} has no access link in the backbone"
            raise SourceError(where, message) from None
        return tuple((arc, share) for arc, share in sorted(flow.items()) if share > 0)


@dataclass
class _Backbone:
    """The steady loads of a data directory's backbone and every arc's free rate per month."""

    model: LoadModel
    target: float
    free: np.ndarray  # arcs × months, bit/s

    @classmethod
    def load(cls, data_dir: Path | None) -> _Backbone:
        import dataclasses

        from network.linkload import LoadModel, free_rate_on_arcs, load_capacity_inputs

        inputs = load_capacity_inputs(data_dir)
        steady = dataclasses.replace(inputs.model.demand, transfers=[])
        model = LoadModel(inputs.graph, steady)
        target = inputs.params.target_utilisation
        return cls(model, target, free_rate_on_arcs(model, target, np.arange(len(model.graph.arcs))))

    def links(self, department: str, route: tuple[tuple[int, float], ...], m: int) -> tuple[PathLink, ...]:
        if not route:
            words = f"{department} reaches no link to the cloud DC"
            return (PathLink(f"{department}: no route", 1.0, 0.0, words),)
        return tuple(
            PathLink(f"arc {arc}", share, float(self.free[arc, m]), self.name(arc)) for arc, share in route
        )

    def name(self, arc: int) -> str:
        from network.capacity_present import rate_text

        graph = self.model.graph
        a = graph.arcs[arc]
        circuit = graph.circuits[a.circuit]
        return (
            f"the link {a.tail} → {a.head} ({circuit.tier}, {rate_text(circuit.capacity)}) "
            f"at the {self.target * 100:g} % target"
        )
