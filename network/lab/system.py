"""Thin wrappers over the system commands the lab uses (ip, tc, sysctl, FRR binaries). No decisions here."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

FRR_BIN = Path("/usr/lib/frr")
VTYSH = Path("/usr/bin/vtysh")
FRR_ETC = Path("/etc/frr")
FRR_RUN = Path("/var/run/frr")
NETNS_DIR = Path("/run/netns")
INSTALL_HINT = (
    "apt-get install -y frr frr-pythontools openssh-server openssh-client iproute2 iputils-ping iperf3"
)


class LabError(RuntimeError):
    """A lab operation failed; the message says which command and why."""


def run(
    cmd: Sequence[str], *, input_text: str | None = None, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; raise LabError with its stderr when it fails and ``check`` is set."""
    try:
        proc = subprocess.run(
            list(cmd), input=input_text, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise LabError(f"{cmd[0]} not found; install it with: {INSTALL_HINT}") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(cmd)} did not finish within {timeout:.0f} s") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise LabError(f"{' '.join(cmd[:6])} … failed ({proc.returncode}): {' | '.join(detail)}")
    return proc


def missing_prerequisites() -> list[str]:
    """What keeps a lab from being built here: not root, or a binary missing (with the install command)."""
    import os

    problems = []
    if os.geteuid() != 0:
        problems.append("the lab needs root (network namespaces, veths, tc)")
    needed = [FRR_BIN / "zebra", FRR_BIN / "ospfd", FRR_BIN / "bgpd", VTYSH, FRR_BIN / "frr-reload.py"]
    for binary in needed:
        if not binary.exists():
            problems.append(f"{binary} is missing")
    for tool in ("ip", "tc", "unshare", "nsenter", "setarch", "sshd", "ssh-keygen", "ping", "iperf3"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            problems.append(f"{tool} is missing")
    if len(problems) > (1 if os.geteuid() != 0 else 0):
        problems.append(f"install with: {INSTALL_HINT}")
    return problems


def namespaces() -> list[str]:
    """Names of the network namespaces that `ip netns` knows."""
    out = run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def namespace_pids(ns: str) -> list[int]:
    """Process ids living in network namespace ``ns``."""
    out = run(["ip", "netns", "pids", ns], check=False).stdout
    return [int(tok) for tok in out.split() if tok.isdigit()]


def ip_batch(lines: Sequence[str], ns: str | None = None) -> None:
    """Run ``ip -batch`` (optionally in ``ns``) with ``-force`` so one bad line does not hide the others."""
    if not lines:
        return
    cmd = ["ip", *(["-n", ns] if ns else []), "-force", "-batch", "-"]
    run(cmd, input_text="\n".join(lines) + "\n", timeout=600)


def in_ns(ns: str, cmd: Sequence[str]) -> list[str]:
    """``cmd`` run inside network namespace ``ns``, in the host's mount namespace.

    Not `ip netns exec`: that gives every command (and every daemon it starts) a mount namespace of its own
    holding a copy of every /run/netns mount. With N routers that is N² mounts (3 million for the province),
    each `netns delete` then propagates into every daemon's copy, and starting and tearing down slow to a
    crawl. The lab's commands need the network namespace only (sysctl's /proc/sys/net follows it).
    """
    return ["nsenter", f"--net={NETNS_DIR / ns}", "--", *cmd]


def in_router(ns: str, cmd: Sequence[str]) -> list[str]:
    """``cmd`` run inside router ``ns``'s network and UTS namespaces (those of its zebra)."""
    pid = (FRR_RUN / ns / "zebra.pid").read_text().strip()
    return ["nsenter", "-t", pid, "-u", "-n", "--", *cmd]


def vtysh(ns: str, *commands: str, timeout: float = 30) -> str:
    """Output of ``vtysh -N ns -c …`` for each command; raises LabError when vtysh fails."""
    cmd = [str(VTYSH), "-N", ns]
    for command in commands:
        cmd += ["-c", command]
    return run(cmd, timeout=timeout).stdout


KSM = Path("/sys/kernel/mm/ksm")
#: prctl(2) option of Linux ≥ 6.4: every anonymous page of the caller (and, inherited across fork and execve,
#: of its children) becomes a candidate for kernel samepage merging.
PR_SET_MEMORY_MERGE = 67


def mem_available_mib() -> int:
    """MemAvailable from /proc/meminfo in MiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def share_identical_pages(pages_to_scan: int) -> None:
    """Let the kernel merge identical memory pages of the processes this one starts from now on (KSM).

    FRR daemons of one kind hold mostly the same data after start-up (the command tree, the YANG schema,
    relocated library pages); started without address randomisation those pages are byte-identical across
    routers and KSM keeps one copy. Turns ksmd on machine-wide; only processes that opt in are scanned.
    """
    import ctypes

    if not (KSM / "run").exists():
        raise LabError(f"this kernel has no KSM ({KSM} is missing): FRR's pages cannot be shared")
    set_ksm_pages_to_scan(pages_to_scan)
    (KSM / "run").write_text("1\n")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise LabError(f"prctl(PR_SET_MEMORY_MERGE) failed (errno {errno}): Linux 6.4 or newer is needed")


#: The kernel's neighbour tables (ARP, IPv6 neighbour discovery) are one per machine, shared by every network
#: namespace: by default, above 512 entries a new one may force a garbage collection under the table's lock,
#: and at 1,024 new ones are refused when nothing can be collected ("neighbor table overflow"). A lab router
#: has an entry per link and neighbour, plus the OSPF multicast groups, per address family: the province's
#: attempts overflowed it by a few hundred routers (936,000 refusals when 1,050 ran), and OSPFv3's unicast
#: updates to refused neighbours were lost and retransmitted.
NEIGHBOUR_GC_THRESHOLDS = ("gc_thresh1", "gc_thresh2", "gc_thresh3")


def _neighbour_threshold(family: str, name: str) -> Path:
    return Path("/proc/sys/net") / family / "neigh" / "default" / name


def neighbour_table_limits() -> dict[str, int]:
    """The machine's neighbour-table thresholds, per family and name ("ipv4.gc_thresh3": 1024, …)."""
    return {
        f"{family}.{name}": int(_neighbour_threshold(family, name).read_text())
        for family in ("ipv4", "ipv6")
        for name in NEIGHBOUR_GC_THRESHOLDS
    }


def raise_neighbour_tables(entries: int) -> None:
    """Let the machine's neighbour tables hold ``entries`` per family without garbage collection (gc_thresh1)
    and twice that before refusing (gc_thresh3); thresholds already higher stay as they are."""
    wanted = {"gc_thresh1": entries, "gc_thresh2": entries * 2, "gc_thresh3": entries * 2}
    for family in ("ipv4", "ipv6"):
        # the largest first: the thresholds never cross while they are raised
        for name in reversed(NEIGHBOUR_GC_THRESHOLDS):
            path = _neighbour_threshold(family, name)
            if int(path.read_text()) < wanted[name]:
                path.write_text(f"{wanted[name]}\n")


def set_ksm_pages_to_scan(pages: int) -> None:
    """How many pages ksmd compares per wake-up (its CPU use follows this)."""
    (KSM / "pages_to_scan").write_text(f"{pages}\n")


def stop_page_sharing() -> None:
    """Stop ksmd (pages already merged stay merged until their processes end)."""
    if (KSM / "run").exists():
        (KSM / "run").write_text("0\n")
