#!/usr/bin/env bash
# PostgreSQL with pgvector for the tests that need vectors in SQL (the machine's own PostgreSQL
# has no pgvector). The server comes from PyPI's `pgserver` wheel, which ships PostgreSQL 16 with
# pgvector; it is installed once per machine under $ROOT and refuses to run as root, so it runs
# as an unprivileged system user.
#
#   eval "$(bash .ci/pgvector.sh start)"   # prints: export STEMGRAPH_TEST_PGVECTOR_URL=...
#   bash .ci/pgvector.sh stop
#
# Both are idempotent and quiet (errors and the server log go to stderr on failure).
set -euo pipefail

VERSION="${STEMGRAPH_PGSERVER_VERSION:-0.1.4}"
ROOT="${STEMGRAPH_PGVECTOR_ROOT:-/opt/stemgraph-pgvector}"
RUN_AS="${STEMGRAPH_PGVECTOR_USER:-stemgraph-pg}"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/venv-$VERSION"
DATA="$ROOT/data-$VERSION"
LOG="$ROOT/server.log"
PORT_FILE="$ROOT/port"

die() {
    echo "pgvector.sh: $*" >&2
    exit 1
}

# Run a command as the server's user (as ourselves when we are not root).
as_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

bin_dir() {
    # find_spec locates the package without importing it (its Python API needs more packages).
    echo "$("$VENV/bin/python" -c 'import importlib.util as u, pathlib; print(pathlib.Path(u.find_spec("pgserver").origin).parent)' 2>/dev/null)/pginstall/bin"
}

install() {
    mkdir -p "$ROOT"
    if [ "$(id -u)" -eq 0 ] && ! id "$RUN_AS" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir "$ROOT" --shell /usr/sbin/nologin "$RUN_AS"
    fi
    if [ ! -x "$VENV/bin/python" ] || [ ! -x "$(bin_dir)/postgres" ]; then
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV"
        # Only the PostgreSQL binaries inside the wheel are used, not its Python API.
        if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
            "pgserver==$VERSION" >"$ROOT/install.log" 2>&1; then
            cat "$ROOT/install.log" >&2
            die "could not install pgserver==$VERSION"
        fi
    fi
    chmod -R a+rX "$VENV"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        rm -rf "$DATA"
        mkdir -p "$DATA"
        [ "$(id -u)" -eq 0 ] && chown "$RUN_AS" "$DATA"
        chmod 700 "$DATA"
        as_user "$(bin_dir)/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C \
            >/dev/null || die "initdb failed"
    fi
    touch "$LOG"
    [ "$(id -u)" -eq 0 ] && chown "$RUN_AS" "$LOG"
    return 0
}

running() {
    [ -f "$DATA/PG_VERSION" ] && [ -x "$VENV/bin/python" ] \
        && as_user "$(bin_dir)/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url() {
    echo "postgresql://postgres@127.0.0.1:$(cat "$PORT_FILE")/postgres"
}

start() {
    install
    if ! running; then
        free_port >"$PORT_FILE"
        # TCP on loopback only; no Unix socket (the user may not write the default directory).
        if ! as_user "$(bin_dir)/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 -o \
            "-c listen_addresses=127.0.0.1 -c port=$(cat "$PORT_FILE") -c unix_socket_directories=''" \
            >/dev/null 9>&-; then
            tail -n 20 "$LOG" >&2
            die "the server did not start"
        fi
    fi
    echo "export STEMGRAPH_TEST_PGVECTOR_URL=$(url)"
}

stop() {
    if running; then
        as_user "$(bin_dir)/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
    fi
}

[ $# -eq 1 ] || die "usage: $0 start|stop"
mkdir -p "$ROOT"
# One caller at a time: parallel test runs share the server. (The server must not inherit
# this descriptor, or it would hold the lock for as long as it runs.)
exec 9>"$ROOT/.lock"
flock 9
case "$1" in
start) start ;;
stop) stop ;;
*) die "usage: $0 start|stop" ;;
esac
