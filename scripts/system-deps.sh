#!/usr/bin/env bash
# Installs (as root) or names (otherwise) every system package the test suite needs, then prepares the
# services. Each part of the project owns one script in scripts/deps.d/; they run in name order.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for part in "$here"/deps.d/*.sh; do
  [ -e "$part" ] || continue
  bash "$part"
done
