#!/usr/bin/env bash
# System packages of the migration-slot service tests (tests/slots): a real PostgreSQL server that the suite
# starts itself with initdb and pg_ctl (concurrency and crash tests), Debian's chromium and its driver for
# the department web page test, and util-linux (runuser, to start PostgreSQL as a non-root user).
set -euo pipefail
. "$(dirname "$0")/00-lib.sh"
ensure_apt postgresql chromium chromium-driver util-linux
# The suite runs its own PostgreSQL on a temp dir and a free port; the distribution's cluster is not used.
exit 0
