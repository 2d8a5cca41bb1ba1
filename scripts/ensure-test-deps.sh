#!/usr/bin/env bash
# Make sure the system services the test suite starts for real are installed:
#   redis-server, Chromium (/usr/bin/chromium), zbarimg (zbar-tools) and the PostgreSQL server
#   binaries plus the `postgres` system user (PostgreSQL refuses to run as root,
#   so tests/harness.py runs it as that user when the tests run as root).
#
# Installs whatever is missing with apt-get (as root, or through `sudo -n`).
# If that is impossible it prints exactly what to install and exits 1: it
# never skips silently.
set -euo pipefail

missing_pkgs=()
missing_what=()

note() { printf '%s\n' "$*"; }

find_pg_initdb() {
  local candidate
  # Newest /usr/lib/postgresql/<version>/bin/initdb first, then PATH.
  candidate=$(ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$candidate" && -x "$candidate" ]]; then
    printf '%s\n' "$candidate"
    return 0
  fi
  command -v initdb 2>/dev/null || return 1
}

check_all() {
  missing_pkgs=()
  missing_what=()

  local path
  if path=$(command -v redis-server 2>/dev/null) || { [[ -x /usr/bin/redis-server ]] && path=/usr/bin/redis-server; }; then
    note "found redis-server: $path"
  else
    missing_pkgs+=(redis-server)
    missing_what+=("redis-server")
  fi

  if [[ -x /usr/bin/chromium ]]; then
    note "found chromium: /usr/bin/chromium"
  else
    missing_pkgs+=(chromium)
    missing_what+=("/usr/bin/chromium")
  fi

  # zbarimg decodes the two-factor QR code from a browser screenshot (tests/e2e).
  if path=$(command -v zbarimg 2>/dev/null); then
    note "found zbarimg: $path"
  else
    missing_pkgs+=(zbar-tools)
    missing_what+=("zbarimg")
  fi

  local pg_needed=0
  if path=$(find_pg_initdb); then
    note "found PostgreSQL initdb: $path"
  else
    pg_needed=1
    missing_what+=("PostgreSQL server binaries (initdb)")
  fi
  if getent passwd postgres >/dev/null 2>&1; then
    note "found system user: postgres"
  else
    pg_needed=1
    missing_what+=("'postgres' system user")
  fi
  if ((pg_needed)); then
    missing_pkgs+=(postgresql)
  fi
}

check_all
if ((${#missing_pkgs[@]} == 0)); then
  note "all test dependencies present"
  exit 0
fi

note "missing: ${missing_what[*]}"

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
  else
    {
      echo "error: missing test dependencies: ${missing_what[*]}"
      echo "not root and passwordless sudo is unavailable; install them with:"
      echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing_pkgs[*]}"
    } >&2
    exit 1
  fi
fi

if ! command -v apt-get >/dev/null 2>&1; then
  {
    echo "error: missing test dependencies: ${missing_what[*]}"
    echo "apt-get is not available; install these with your package manager: ${missing_pkgs[*]}"
  } >&2
  exit 1
fi

# Wait (up to 10 min) for any other apt/dpkg run holding the lock.
apt_opts=(-o DPkg::Lock::Timeout=600)
note "installing: ${missing_pkgs[*]}"
"${sudo_cmd[@]}" apt-get "${apt_opts[@]}" update
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing_pkgs[@]}"

check_all
if ((${#missing_pkgs[@]} != 0)); then
  echo "error: still missing after apt-get install: ${missing_what[*]}" >&2
  exit 1
fi
note "all test dependencies present"
