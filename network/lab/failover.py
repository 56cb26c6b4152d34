"""Failover measurement: cut a city's primary uplink and time how long the city loses the core.

Two kinds of cut: ``silent`` (the circuit blackholes both ways while both ports stay up, as when the
carrier's transport fails: only OSPF's dead interval or BFD notices) and ``carrier`` (the port goes down,
both ends see it).
"""

from __future__ import annotations

import itertools
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import IO

from network.lab import system
from network.lab.engine import tbf_burst
from network.lab.spec import LabSpec, Link, namespace_name
from network.lab.system import LabError

_REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)")
#: A token bucket one byte deep at 8 bit/s: drops every frame while the port keeps its carrier.
BLACKHOLE = ["tbf", "rate", "8bit", "burst", "1", "limit", "1"]
PING_INTERVAL = 0.01
#: Answers later than this after the cut cannot have crossed the cut link (they took the backup plane).
SETTLE_S = 0.5


@dataclass(frozen=True)
class FailoverResult:
    """One measured failover: what was cut, how, and how long the city could not reach the core."""

    city: str
    link: str
    target: str
    mode: str
    outage_s: float
    lost: int
    recovered: bool


def primary_uplink(spec: LabSpec, city: str) -> tuple[Link, str]:
    """The city's primary-plane link to a core router, and the city's end's interface name."""
    for link in spec.links:
        for near, far in ((link.a, link.b), (link.b, link.a)):
            if near.router == city and link.plane == "primary" and spec.routers[far.router].tier == "core":
                return link, near.ifname
    raise LabError(f"{city} has no primary link to a core router in this lab")


def _qdisc(prefix: str, router: str, ifname: str, args: list[str]) -> None:
    ns = namespace_name(prefix, router)
    system.run(["tc", "-n", ns, "qdisc", "replace", "dev", ifname, "root", *args])


def _shaper(rate: int) -> list[str]:
    return ["tbf", "rate", f"{rate}bit", "burst", str(tbf_burst(rate)), "latency", "50ms"]


def cut(prefix: str, link: Link, mode: str) -> None:
    """Cut ``link``: blackhole both ends (silent) or take the A end down (carrier)."""
    if mode == "silent":
        for end in (link.a, link.b):
            _qdisc(prefix, end.router, end.ifname, BLACKHOLE)
    elif mode == "carrier":
        ns = namespace_name(prefix, link.a.router)
        system.run(["ip", "-n", ns, "link", "set", "dev", link.a.ifname, "down"])
    else:
        raise ValueError(f"unknown cut mode {mode!r}; expected silent or carrier")


def restore(prefix: str, link: Link) -> None:
    """Undo :func:`cut`: the tier's shaping back on both ends, both ends up."""
    for end in (link.a, link.b):
        _qdisc(prefix, end.router, end.ifname, _shaper(link.rate_bit_s))
        system.run(["ip", "-n", namespace_name(prefix, end.router), "link", "set", "dev", end.ifname, "up"])


def longest_gap(lines: list[str], after: float) -> tuple[float, int]:
    """(longest time between two answered pings spanning or following ``after``, pings lost in it)."""
    replies = [(float(m.group(1)), int(m.group(2))) for line in lines if (m := _REPLY.match(line))]
    best, lost = 0.0, 0
    for (t0, s0), (t1, s1) in itertools.pairwise(replies):
        if t1 >= after and t1 - t0 > best:
            best, lost = t1 - t0, s1 - s0 - 1
    return best, lost


def _answered_after(lines: list[str], moment: float) -> bool:
    """Whether a ping was answered after ``moment`` (after the cut, only the backup path can answer)."""
    return any((m := _REPLY.match(line)) and float(m.group(1)) > moment for line in list(lines))


def _read_lines(stream: IO[str], sink: list[str]) -> None:
    for line in stream:
        sink.append(line.rstrip("\n"))


def measure(
    spec: LabSpec, prefix: str, city: str, mode: str = "silent", timeout: float = 30.0
) -> FailoverResult:
    """Ping the far core's loopback from the city's loopback every 10 ms, cut the primary uplink, and time
    the gap until answers come back over the backup plane. The link is restored afterwards, whatever happens.
    """
    link, ifname = primary_uplink(spec, city)
    far = link.b if link.a.router == city else link.a
    source = str(spec.routers[city].loopbacks[0].ip)
    target = str(spec.routers[far.router].loopbacks[0].ip)
    cmd = ["ping", "-D", "-n", "-i", str(PING_INTERVAL), "-W", "1", "-I", source, target]
    pinger = subprocess.Popen(
        system.in_ns(namespace_name(prefix, city), cmd),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert pinger.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=_read_lines, args=(pinger.stdout, lines), daemon=True)
    reader.start()
    cut_at = time.time()
    try:
        time.sleep(1.0)
        cut_at = time.time()
        cut(prefix, link, mode)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not _answered_after(lines, cut_at + SETTLE_S):
            time.sleep(0.25)
        time.sleep(0.5)
    finally:
        pinger.terminate()
        pinger.wait(timeout=10)
        reader.join(timeout=5)
        restore(prefix, link)
    outage, lost = longest_gap(lines, cut_at)
    recovered = _answered_after(lines, cut_at + SETTLE_S)
    where = f"{city} {ifname} ↔ {far.router} {far.ifname}"
    return FailoverResult(city, where, target, mode, outage, lost, recovered)
