#!/usr/bin/env bash
# System packages of the backbone capacity map (egov network capacity --format png, tests/network): a CJK font
# for its zh-CN labels. The map refuses to draw without one rather than print empty boxes.
set -euo pipefail
. "$(dirname "$0")/00-lib.sh"
ensure_apt fonts-noto-cjk
exit 0
