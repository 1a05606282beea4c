#!/usr/bin/env bash
# Makes sure redis-server and redis-cli (Redis 7) are installed; sourced by the other
# scripts. On Debian/Ubuntu it installs them with apt-get (one `apt-get update` first);
# elsewhere it says what to do.
ensure_redis() {
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        return 0
    fi
    if command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        echo "installing redis-server and redis-tools with apt-get…" >&2
        $sudo apt-get update -qq >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >&2 || {
            echo "apt-get could not install redis-server/redis-tools; install them and try again" >&2
            return 1
        }
        # The Debian package starts a system server on 6379; rcli's tests do not need it.
        return 0
    fi
    case "$(uname -s)" in
        Darwin) echo "redis-server is missing: run 'brew install redis', then try again" >&2 ;;
        *) echo "redis-server is missing: install Redis 7 (redis-server and redis-cli) with your package manager, then try again" >&2 ;;
    esac
    return 1
}
