#!/usr/bin/env bash
# Makes sure redis-server and redis-cli (Redis 7) are installed, and for the test suite a
# man page renderer and the Debian packaging tools; sourced by the other scripts. On Debian/Ubuntu it installs what is
# missing with apt-get (one `apt-get update` first); elsewhere it says what to do.

# apt_install PACKAGE...: installs the packages with apt-get, after one `apt-get update`
# per run of the calling script. Fails (with a message) where apt-get is missing or fails.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "installing $* with apt-get…" >&2
    if [ -z "${RCLI_APT_UPDATED:-}" ]; then
        $sudo apt-get update -qq >&2 || { echo "apt-get update failed" >&2; return 1; }
        RCLI_APT_UPDATED=yes
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || {
        echo "apt-get could not install $*; install them and try again" >&2
        return 1
    }
}

ensure_redis() {
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        return 0
    fi
    # The Debian package starts a system server on 6379; rcli's tests do not need it.
    if command -v apt-get >/dev/null 2>&1; then
        apt_install redis-server redis-tools
        return
    fi
    case "$(uname -s)" in
        Darwin) echo "redis-server is missing: run 'brew install redis', then try again" >&2 ;;
        *) echo "redis-server is missing: install Redis 7 (redis-server and redis-cli) with your package manager, then try again" >&2 ;;
    esac
    return 1
}

# The packaging test renders `rcli man` with `man -l` (it requires a renderer under CI).
ensure_man() {
    if command -v man >/dev/null 2>&1 || command -v groff >/dev/null 2>&1 || command -v mandoc >/dev/null 2>&1; then
        return 0
    fi
    if command -v apt-get >/dev/null 2>&1; then
        apt_install man-db
        return
    fi
    echo "no man page renderer (man, groff or mandoc): install man-db to test 'rcli man' fully" >&2
    return 1
}

# The .deb test (tests/integration/packaging.rs) builds the package with scripts/package
# (dpkg-shlibdeps, from dpkg-dev) and loads its bash completion through bash-completion's
# own loader. Debian/Ubuntu only: elsewhere there is no .deb to test.
ensure_packaging_tools() {
    command -v dpkg-deb >/dev/null 2>&1 || return 1
    local missing=()
    command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev)
    [ -f /usr/share/bash-completion/bash_completion ] || missing+=(bash-completion)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}
