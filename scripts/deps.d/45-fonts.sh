#!/usr/bin/env bash
# A CJK font for the Chinese text of the department page (chromium) and the planners' report charts
# (matplotlib): without it every Chinese character renders as a missing-glyph box. The tests fail without it.
set -euo pipefail
. "$(dirname "$0")/00-lib.sh"
ensure_apt fonts-noto-cjk fontconfig
exit 0
