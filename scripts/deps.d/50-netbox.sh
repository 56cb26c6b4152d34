#!/usr/bin/env bash
# The NetBox tests (tests/netbox) and `make bench` run a real NetBox: Redis (Debian redis-server, started by the
# fixture on a free port), the suite's own PostgreSQL (40-slots.sh) and the PyPI package `netbox`, which needs
# Python >= 3.12 (Debian has 3.11). NetBox goes into its own venv, cached per version under
# ~/.cache/egov/netbox-<version>, built with pyenv's 3.12 (or EGOV_PYTHON312); egov's .venv is not touched.
set -euo pipefail
. "$(dirname "$0")/00-lib.sh"
ensure_apt redis-server libpq-dev gcc  # psycopg[c], a NetBox dependency, builds against libpq
version="${EGOV_NETBOX_VERSION:-4.7.3}"
venv="${EGOV_NETBOX_VENV:-$HOME/.cache/egov/netbox-$version}"
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import netbox, gunicorn" 2>/dev/null \
  && [ -f "$venv/.egov-complete" ] && exit 0
python312="${EGOV_PYTHON312:-}"
if [ -z "$python312" ]; then
  for candidate in python3.12 python3.13 /root/.pyenv/versions/3.12*/bin/python3.12; do
    if command -v "$candidate" >/dev/null 2>&1; then python312="$(command -v "$candidate")"; break; fi
  done
fi
if [ -z "$python312" ]; then
  echo "egov's NetBox tests need Python >= 3.12 for the netbox package; none found" >&2
  echo "install one (e.g. pyenv install 3.12) or set EGOV_PYTHON312=/path/to/python3.12" >&2
  exit 1
fi
rm -rf "$venv"
"$python312" -m venv "$venv"
"$venv/bin/pip" install -q "netbox==$version" gunicorn
touch "$venv/.egov-complete"
