"""Shared fixtures: the real province built once per worker, and small hand-made division trees."""

from __future__ import annotations

import pytest

from network.divisions import Division
from network.model import Backbone
from network.params import NetworkParams, load_params
from network.topology import build_backbone


@pytest.fixture(scope="session")
def params() -> NetworkParams:
    return load_params()


@pytest.fixture(scope="session")
def bare_params(params: NetworkParams) -> NetworkParams:
    """The real parameters without the codes that name real divisions (for generated division trees)."""
    return params.model_copy(
        update={
            "backup": params.backup.model_copy(update={"counties": ()}),
            "isolated": params.isolated.model_copy(update={"sites": ("440000",)}),
        }
    )


@pytest.fixture(scope="session")
def backbone() -> Backbone:
    return build_backbone()


@pytest.fixture(scope="session")
def small(backbone: Backbone) -> Backbone:
    """Guangzhou and 东莞 with at most two towns per county (东莞: per city)."""
    return backbone.slice(["440100", "441900"], towns_per_county=2)


def tree(*codes: str) -> dict[str, Division]:
    """A division tree from bare codes; parents are implied (a town under its county, or XX00 city)."""
    out = {"440000": Division("440000", "province", "广东省", None)}
    for code in codes:
        if len(code) == 9:
            parent = code[:6]
            tier = "town"
        elif code.endswith("00"):
            parent, tier = "440000", "city"
        else:
            parent, tier = code[:4] + "00", "county"
        out[code] = Division(code, tier, code, parent)
    return out


class FakeDepartment:
    def __init__(self, code: str, name: str):
        self.code, self.name = code, name


class FakeSource:
    def __init__(self, *codes: str):
        self.departments = [FakeDepartment(c, c) for c in codes]


@pytest.fixture(scope="session")
def make_tree():
    """The :func:`tree` helper, as a fixture (test modules here are not a package)."""
    return tree


@pytest.fixture(scope="session")
def fake_source():
    return FakeSource
