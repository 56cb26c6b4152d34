#!/usr/bin/env bash
# The fit tests and bench run a real OpenStack Placement (gunicorn + SQLite, started by the fixture). It needs
# no system package: openstack-placement is a pip dependency of the test extra, installed into .venv with the
# rest (its pins do not conflict with egov's). This only checks that it is there and says how to fix it.
. "$(dirname "$0")/00-lib.sh"
venv="${VENV:-.venv}"
if [ ! -x "$venv/bin/placement-manage" ] || [ ! -x "$venv/bin/gunicorn" ]; then
  echo "egov's Placement tests need openstack-placement and gunicorn in $venv" >&2
  echo "install them with:  $venv/bin/pip install -e '.[test]'" >&2
  exit 1
fi
