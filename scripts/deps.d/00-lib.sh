#!/usr/bin/env bash
# Helpers sourced by the other deps.d scripts: ensure_apt PKG... installs missing Debian packages as root,
# and stops with the exact command to run otherwise — tests never skip silently for want of a package.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "egov tests need these system packages: ${missing[*]}" >&2
    echo "install them with:  sudo apt-get install -y ${missing[*]}   (then rerun make test)" >&2
    exit 1
  fi
  if [ ! -f /var/lib/apt/lists/.egov-updated ] || [ -n "$(find /var/lib/apt/lists/.egov-updated -mmin +720 2>/dev/null)" ]; then
    apt-get update -q >/dev/null && touch /var/lib/apt/lists/.egov-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
