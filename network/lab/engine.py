"""Builds and tears down a lab: namespaces, veths, addresses, tc shaping, FRR daemons, management sshd."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from network.lab import system
from network.lab.spec import DAEMON_ORDER, Endpoint, IfAddr, LabSpec, Router, namespace_name
from network.lab.system import FRR_BIN, FRR_ETC, FRR_RUN, LabError

STATE_ROOT = Path("/run/egov-lab")
#: Proportional memory (PSS) per daemon, MiB, FRR 8.4 with --limit-fds 1024: the default slice, and the towns
#: of a 195-router city lab (zebra 6.0, ospfd 5.5, ospf6d 5.1 there once converged).
DAEMON_MEMORY_MIB = {"zebra": 6.0, "ospfd": 5.5, "ospf6d": 5.2, "staticd": 2.5, "bgpd": 11.0, "bfdd": 3.0}
#: The same with shared pages (`build(share_pages=True)`: no address randomisation, KSM, --limit-fds 128),
#: per tier where measured: the towns of the 195-router city lab after ksmd's first full scans.
SHARED_DAEMON_MEMORY_MIB: dict[str, dict[str, float]] = {
    "town": {"zebra": 2.2, "ospfd": 3.0, "ospf6d": 3.0},
}
#: Kernel state per router (namespace, veths, qdiscs, sockets).
ROUTER_KERNEL_MIB = 1.0
Progress = Callable[[str, int], None]
#: FRR sizes its per-thread poll and task tables by the fd limit. With shared pages the daemons get a lower
#: one: a lab router needs a few dozen fds at most (a core: 25 links, about 25 BGP sessions, zserv, vty).
FD_LIMIT = 1024
SHARED_FD_LIMIT = 128
#: Pages ksmd compares per 20 ms wake-up: about 800 MB/s, enough to keep up with routers starting.
KSM_PAGES_TO_SCAN = 4000
#: Memory a router's daemons wait for before they start (ksmd merges behind them; never run into the OOM
#: killer on a machine shared with other work), and how long they wait for it at most.
START_RESERVE_MIB = 1024
START_MEMORY_WAIT_S = 600.0

VTYSH_CONF = "service integrated-vtysh-config\n"
FRR_EXEC = """#!/bin/sh
# frr-exec NS CMD...: run CMD inside lab router NS (its network and UTS namespaces). Lab only.
ns="$1"; shift
exec nsenter -t "$(cat /var/run/frr/"$ns"/zebra.pid)" -u -n -- "$@"
"""


@dataclass(frozen=True)
class Management:
    """The management plane: a namespace with sshd, linked to the host by one veth."""

    namespace: str
    host_ifname: str
    host_address: str
    address: str
    state_dir: Path

    @property
    def key_file(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def frr_exec(self) -> Path:
        return self.state_dir / "bin" / "frr-exec"


def state_dir(prefix: str) -> Path:
    """Where the lab with ``prefix`` keeps its keys, sshd config and inventory (on tmpfs)."""
    return STATE_ROOT / prefix.rstrip("-_")


def management(prefix: str) -> Management:
    """The management plane of the lab with ``prefix`` (addresses derived from the prefix)."""
    third = zlib.crc32(prefix.encode()) % 250 + 2
    return Management(
        namespace=f"{prefix}_mgmt",
        host_ifname=f"{prefix.rstrip('-_')[:10]}-mgmt",
        host_address=f"198.18.{third}.1",
        address=f"198.18.{third}.2",
        state_dir=state_dir(prefix),
    )


# ---------------------------------------------------------------- teardown


def _kill(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _pids_of_pathspace(ns: str) -> list[int]:
    """Pids from the FRR pid files of pathspace ``ns`` (daemons outlive a deleted namespace)."""
    pids = []
    for pidfile in (FRR_RUN / ns).glob("*.pid"):
        try:
            pids.append(int(pidfile.read_text().strip()))
        except (OSError, ValueError):
            continue
    return pids


def _pids_by_cmdline(prefix: str) -> list[int]:
    """FRR daemons started with ``-N <prefix>…`` and the lab's sshd, even if their namespace and pid files
    are already gone (a half-finished teardown or build)."""
    markers = (f" -N {prefix}", f" {state_dir(prefix)}/sshd_config")
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = " " + cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(marker in text for marker in markers):
            pids.append(int(cmdline.parent.name))
    return pids


def teardown(prefix: str, progress: Progress | None = None) -> int:
    """Remove every trace of the lab with ``prefix``; safe to call on a half-built or absent lab.

    Kills the processes in its namespaces, deletes the namespaces, the host end of the management veth,
    /etc/frr/<ns>, /var/run/frr/<ns> and the state directory. Returns how many namespaces went.
    """
    stale = [ns for ns in system.namespaces() if ns.startswith(prefix)]
    spaces = {p.name for base in (FRR_ETC, FRR_RUN) if base.exists() for p in base.glob(f"{prefix}*")}
    victims: list[int] = []
    for ns in stale:
        victims += system.namespace_pids(ns)
    for ns in spaces | set(stale):
        victims += _pids_of_pathspace(ns)
    victims += _pids_by_cmdline(prefix)
    victims = sorted(set(victims) - {os.getpid()})
    _kill(victims, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while victims and time.monotonic() < deadline:
        victims = [pid for pid in victims if Path(f"/proc/{pid}").exists() and not _zombie(pid)]
        time.sleep(0.1)
    _kill(victims, signal.SIGKILL)
    system.ip_batch([f"netns delete {ns}" for ns in stale])
    mgmt = management(prefix)
    system.run(["ip", "link", "delete", mgmt.host_ifname], check=False)
    for ns in spaces | set(stale):
        shutil.rmtree(FRR_ETC / ns, ignore_errors=True)
        shutil.rmtree(FRR_RUN / ns, ignore_errors=True)
    shutil.rmtree(mgmt.state_dir, ignore_errors=True)
    if not any(_daemon_running(name) for name in ("ospfd",)):
        (FRR_RUN / "ospfd-gr.json").unlink(missing_ok=True)
        (FRR_RUN / "ospf6d-gr.json").unlink(missing_ok=True)
    if not _daemon_running("zebra"):
        system.stop_page_sharing()
    if progress:
        progress("teardown", len(stale))
    return len(stale)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def _daemon_running(name: str) -> bool:
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name and not _zombie(int(comm.parent.name)):
                return True
        except OSError:
            continue
    return False


# ---------------------------------------------------------------- build


def _veth_lines(spec: LabSpec, prefix: str) -> list[str]:
    lines = []
    for link in spec.links:
        a, b = link.a, link.b
        lines.append(
            f"link add name {a.ifname} netns {namespace_name(prefix, a.router)} mtu {link.mtu} type veth "
            f"peer name {b.ifname} netns {namespace_name(prefix, b.router)} mtu {link.mtu}"
        )
    return lines


def _router_ends(spec: LabSpec) -> dict[str, list[tuple[Endpoint, int]]]:
    """Each router's link ends with the link rate."""
    ends: dict[str, list[tuple[Endpoint, int]]] = {name: [] for name in spec.routers}
    for link in spec.links:
        ends[link.a.router].append((link.a, link.rate_bit_s))
        ends[link.b.router].append((link.b, link.rate_bit_s))
    return ends


def _sysctls(n_ifaces: int) -> list[str]:
    """Per-namespace kernel settings: forwarding, no rp_filter, enough multicast groups for OSPF."""
    groups = max(20, 4 * n_ifaces + 16)
    return [
        "net.ipv4.ip_forward=1",
        "net.ipv6.conf.all.forwarding=1",
        "net.ipv4.conf.all.rp_filter=0",
        "net.ipv4.conf.default.rp_filter=0",
        f"net.ipv4.igmp_max_memberships={groups}",
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
        "net.ipv4.icmp_ratelimit=0",
    ]


def tbf_burst(rate_bit_s: int) -> int:
    """Token-bucket depth in bytes: 10 ms at line rate, at least 32 full frames."""
    return max(rate_bit_s // 8 // 100, 32 * 1514)


def _addr_line(address: IfAddr, ifname: str) -> str:
    """`ip addr add` for one address; IPv6 without duplicate address detection (no one else is on a veth)."""
    return f"addr add {address.with_prefixlen} dev {ifname}" + (" nodad" if address.version == 6 else "")


def stub_peer(ifname: str) -> str:
    """The in-namespace peer of a stub interface's veth."""
    return f"x{ifname[:14]}"


def _stub_lines(router: Router) -> list[str]:
    """VRF devices and stub interfaces for the ports without a peer router (LANs, customer ports)."""
    lines = []
    for vrf, table in router.vrfs:
        lines += [f"link add name {vrf} type vrf table {table}", f"link set {vrf} up"]
    for stub in router.stub_interfaces:
        # A veth whose peer stays in the namespace: always up with carrier, and needs no dummy module.
        lines.append(f"link add name {stub.ifname} type veth peer name {stub_peer(stub.ifname)}")
        lines.append(f"link set {stub_peer(stub.ifname)} up")
    for ifname, vrf in router.vrf_members:
        lines.append(f"link set {ifname} master {vrf}")
    for stub in router.stub_interfaces:
        lines += [_addr_line(a, stub.ifname) for a in stub.addresses]
        lines.append(f"link set {stub.ifname} up")
    return lines


def _address_lines(router: Router, ends: list[tuple[Endpoint, int]]) -> list[str]:
    lines = ["link set lo up", *_stub_lines(router)]
    for loopback in router.loopbacks:
        lines.append(_addr_line(loopback, "lo"))
    for end, _rate in ends:
        for address in end.addresses:
            lines.append(_addr_line(address, end.ifname))
        lines.append(f"link set {end.ifname} up")
    return lines


def _tc_lines(ends: list[tuple[Endpoint, int]]) -> list[str]:
    return [
        f"qdisc replace dev {end.ifname} root tbf rate {rate}bit burst {tbf_burst(rate)} latency 50ms"
        for end, rate in ends
    ]


def _write_router_files(ns: str, router: Router) -> None:
    """/etc/frr/<ns>/frr.conf (the rendered config, byte for byte) and vtysh.conf, owned by frr."""
    etc = FRR_ETC / ns
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "frr.conf").write_text(router.config)
    (etc / "vtysh.conf").write_text(VTYSH_CONF)
    (etc / "frr.conf").chmod(0o640)
    shutil.chown(etc, "frr", "frr")
    for name in ("frr.conf", "vtysh.conf"):
        shutil.chown(etc / name, "frr", "frr")


def _daemon_script(ns: str, router: Router, fd_limit: int = FD_LIMIT) -> str:
    """The shell run in the router's namespace and own UTS namespace: hostname, daemons, then vtysh -b."""
    parts = [f"hostname {router.hostname}"]
    for daemon in DAEMON_ORDER:
        if daemon in router.daemons:
            parts.append(f"{FRR_BIN / daemon} -N {ns} -d -P 0 --limit-fds {fd_limit}")
    parts.append(f"{system.VTYSH} -N {ns} -b >/dev/null")
    return " && ".join(parts)


def _configure_router(
    prefix: str, router: Router, ends: list[tuple[Endpoint, int]], share_pages: bool = False
) -> None:
    """Kernel settings, addresses and shaping of one router's namespace, then its FRR daemons."""
    ns = namespace_name(prefix, router.hostname)
    system.run(system.in_ns(ns, ["sysctl", "-q", "-w", *_sysctls(len(ends))]))
    system.ip_batch(_address_lines(router, ends), ns=ns)
    tc = _tc_lines(ends)
    if tc:
        system.run(["tc", "-n", ns, "-force", "-batch", "-"], input_text="\n".join(tc) + "\n")
    _write_router_files(ns, router)
    _wait_for_memory(router.hostname)
    if not share_pages:
        script = _daemon_script(ns, router)
        system.run(system.in_ns(ns, ["unshare", "--uts", "sh", "-ec", script]), timeout=180)
        return
    # setarch -R: no address randomisation, so that the daemons' identical start-up pages are identical
    # byte for byte (pointers included) across routers and KSM can merge them.
    script = _daemon_script(ns, router, SHARED_FD_LIMIT)
    system.run(system.in_ns(ns, ["setarch", "-R", "unshare", "--uts", "sh", "-ec", script]), timeout=180)


def _wait_for_memory(hostname: str) -> None:
    """Block until START_RESERVE_MIB is available (ksmd frees memory behind the routers already started)."""
    deadline = time.monotonic() + START_MEMORY_WAIT_S
    while (available := system.mem_available_mib()) < START_RESERVE_MIB:
        if time.monotonic() > deadline:
            raise LabError(
                f"{hostname}: only {available} MiB of memory available after waiting "
                f"{START_MEMORY_WAIT_S:.0f} s; a router starts only with {START_RESERVE_MIB} MiB free"
            )
        time.sleep(0.5)


def _start_management(prefix: str, spec_routers: Iterable[str]) -> Management:
    """Management namespace with sshd (key auth, keys on tmpfs), reachable from the host over one veth."""
    mgmt = management(prefix)
    sd = mgmt.state_dir
    (sd / "bin").mkdir(parents=True, exist_ok=True)
    os.chmod(sd, 0o700)
    mgmt.frr_exec.write_text(FRR_EXEC)
    mgmt.frr_exec.chmod(0o755)
    system.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"egov-lab-{prefix}", "-f", str(mgmt.key_file)]
    )
    host_key = sd / "ssh_host_ed25519_key"
    system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)])
    (sd / "authorized_keys").write_text((sd / "id_ed25519.pub").read_text())
    pub = (sd / "ssh_host_ed25519_key.pub").read_text().split()
    mgmt.known_hosts.write_text(f"{mgmt.address} {pub[0]} {pub[1]}\n")
    (sd / "sshd_config").write_text(
        "\n".join(
            [
                f"ListenAddress {mgmt.address}",
                f"HostKey {host_key}",
                f"PidFile {sd / 'sshd.pid'}",
                f"AuthorizedKeysFile {sd / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "MaxSessions 200",
                "MaxStartups 200:30:400",
                "LogLevel ERROR",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    system.ip_batch(
        [
            f"netns add {mgmt.namespace}",
            f"link add name {mgmt.host_ifname} type veth peer name mgmt0 netns {mgmt.namespace}",
            f"addr add {mgmt.host_address}/30 dev {mgmt.host_ifname}",
            f"link set {mgmt.host_ifname} up",
        ]
    )
    system.ip_batch(
        [f"addr add {mgmt.address}/30 dev mgmt0", "link set mgmt0 up", "link set lo up"], mgmt.namespace
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    system.run(system.in_ns(mgmt.namespace, ["/usr/sbin/sshd", "-f", str(sd / "sshd_config")]))
    (sd / "routers.json").write_text(json.dumps(sorted(spec_routers)))
    return mgmt


def build(
    spec: LabSpec,
    prefix: str,
    progress: Progress | None = None,
    workers: int | None = None,
    share_pages: bool = False,
) -> Management:
    """Build the whole lab for ``spec`` under ``prefix`` (tearing down a stale one first).

    On any failure the partial lab is torn down before the error propagates.
    """
    problems = spec.validate()
    if problems:
        raise LabError("lab spec is not buildable: " + "; ".join(problems[:10]))
    teardown(prefix)
    if share_pages:
        system.share_identical_pages(KSM_PAGES_TO_SCAN)
    tick = progress or (lambda _stage, _n: None)
    try:
        system.ip_batch([f"netns add {namespace_name(prefix, name)}" for name in spec.routers])
        tick("namespaces", len(spec.routers))
        system.ip_batch(_veth_lines(spec, prefix))
        tick("links", len(spec.links))
        ends = _router_ends(spec)
        pool_size = workers or max(2, (os.cpu_count() or 2) * 2)
        with ThreadPoolExecutor(max_workers=pool_size) as pool:
            futures = [
                pool.submit(_configure_router, prefix, router, ends[name], share_pages)
                for name, router in spec.routers.items()
            ]
            for future in futures:
                future.result()
                tick("routers", 1)
        mgmt = _start_management(prefix, spec.routers)
        tick("management", 1)
        return mgmt
    except BaseException:
        teardown(prefix)
        raise
