#!/usr/bin/env bash
# System packages of the FRR router lab (network/lab, tests/lab): FRRouting, sshd inside the lab's
# management namespace, iproute2 (ip netns, tc), iperf3 (shaping checks), util-linux (unshare).
set -euo pipefail
. "$(dirname "$0")/00-lib.sh"
ensure_apt frr frr-pythontools openssh-server openssh-client iproute2 iputils-ping iperf3 util-linux procps
# The lab starts its own daemons per namespace; the distribution's default instance must not hold the
# default pathspace's sockets or grab the routes of the root namespace.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now frr >/dev/null 2>&1 || true
fi
exit 0
