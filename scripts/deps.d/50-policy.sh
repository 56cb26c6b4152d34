#!/usr/bin/env bash
# System package of the zone policy tests (tests/network/test_zonepolicy*.py): nftables, whose `nft --check`
# must accept every rendered ruleset (the lab's Linux routers load them).
set -euo pipefail
. "$(dirname "$0")/00-lib.sh"
ensure_apt nftables
exit 0
