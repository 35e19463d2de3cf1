# Shared by scripts/credsync and scripts/test: make sure Debian packages and the virtualenv exist.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CREDSYNC_VENV:-$ROOT/.venv}"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "credsync: need root to run: $*" >&2; return 1
    fi
}

apt_updated=0
ensure_debs() {
    # ensure_debs PKG...: install the Debian packages that are missing.
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "credsync: installing Debian packages: ${missing[*]}" >&2
    if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        -o Dpkg::Options::=--force-confold --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
    # ensure_venv EXTRAS: a virtualenv with credsync installed (editable) and its extras.
    local extras="$1" stamp
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        ensure_debs python3-venv
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    stamp="$VENV/.credsync-installed$extras"
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT$extras" >&2
        touch "$stamp"
    fi
}
