#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on 127.0.0.1:
#
#   scripts/with-postgres.sh .venv/bin/python -m pytest
#
# Creates a cluster in a temporary directory, starts it on a free loopback port, creates the database
# sovereval_test, exports SOVEREVAL_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/sovereval_test,
# runs the command, then stops the server and deletes the cluster (also on failure or Ctrl-C).  Exits
# with the command's status.
#
# Server binaries: $PG_BINDIR, else the newest /usr/lib/postgresql/*/bin, else initdb on PATH.  If none
# are found and we are root, the Debian package `postgresql` is installed.  Without them (not root, or
# the install fails) the command runs without PostgreSQL after a loud warning, and the PostgreSQL tests
# skip; with CI=true that is an error instead.  If SOVEREVAL_TEST_PG_URL is already set, that server is
# used and nothing is started.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

say() { echo "with-postgres: $*" >&2; }

if [[ -n "${SOVEREVAL_TEST_PG_URL:-}" ]]; then
    say "using the given SOVEREVAL_TEST_PG_URL"
    exec "$@"
fi

PG_TOOLS=(initdb pg_ctl pg_isready createdb postgres)

has_tools() {
    local tool
    for tool in "${PG_TOOLS[@]}"; do
        [[ -x "$1/$tool" ]] || return 1
    done
}

# The first directory holding all the server tools: $PG_BINDIR, the newest Debian
# /usr/lib/postgresql/N/bin, or where initdb on PATH lives (following symlinks).
find_bindir() {
    local dir candidates=()
    [[ -n "${PG_BINDIR:-}" ]] && candidates+=("$PG_BINDIR")
    while IFS= read -r dir; do
        candidates+=("$dir")
    done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r)
    if command -v initdb >/dev/null 2>&1; then
        candidates+=("$(dirname "$(readlink -f "$(command -v initdb)")")" "$(dirname "$(command -v initdb)")")
    fi
    for dir in "${candidates[@]}"; do
        if has_tools "$dir"; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# without_postgres REASON COMMAND...: run the command without a server (an error under CI=true).
without_postgres() {
    local reason=$1
    shift
    if [[ "${CI:-}" == "true" ]]; then
        say "ERROR: $reason; CI=true requires the PostgreSQL tests to run"
        exit 1
    fi
    {
        echo "########################################################################################"
        echo "# WARNING: $reason."
        echo "# Running WITHOUT PostgreSQL: the PostgreSQL store tests will be SKIPPED."
        echo "# Install the server (Debian: apt-get install postgresql) or set PG_BINDIR."
        echo "########################################################################################"
    } >&2
    exec "$@"
}

IS_ROOT=0
[[ "$(id -u)" -eq 0 ]] && IS_ROOT=1

if ! BINDIR=$(find_bindir); then
    if [[ $IS_ROOT -eq 1 ]] && command -v apt-get >/dev/null 2>&1; then
        say "PostgreSQL server binaries not found; installing the Debian package 'postgresql'"
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
               DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; } >&2; then
            without_postgres "installing PostgreSQL failed" "$@"
        fi
        BINDIR=$(find_bindir) || without_postgres "PostgreSQL installed but its binaries were not found" "$@"
    else
        without_postgres "PostgreSQL server binaries (${PG_TOOLS[*]}) not found, and cannot install them (not root, or no apt-get)" "$@"
    fi
fi

# As root the server must run as an unprivileged user: the Debian package creates 'postgres'.
if [[ $IS_ROOT -eq 1 ]]; then
    if ! id -u postgres >/dev/null 2>&1; then
        say "ERROR: running as root but there is no 'postgres' user to run the server as"
        exit 1
    fi
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/sovereval-pg.XXXXXX")
DATADIR="$WORKDIR/data"
LOGFILE="$WORKDIR/server.log"
[[ $IS_ROOT -eq 1 ]] && chown postgres: "$WORKDIR"
STARTED=0
CHILD=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ $STARTED -eq 1 ]]; then
        as_pg "$BINDIR/pg_ctl" -D "$DATADIR" -m fast -w -t 60 stop >/dev/null 2>&1 ||
            as_pg "$BINDIR/pg_ctl" -D "$DATADIR" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORKDIR"
    exit "$status"
}
# On a signal, pass it on to the command (if running), then clean up via the EXIT trap.
on_signal() {
    if [[ -n "$CHILD" ]]; then
        kill "-$1" "$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
    fi
    exit "$2"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_pg "$BINDIR/initdb" -D "$DATADIR" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$WORKDIR/initdb.log" 2>&1 || {
    cat "$WORKDIR/initdb.log" >&2
    say "ERROR: initdb failed"
    exit 1
}

PORT=""
for candidate in $(seq "${SOVEREVAL_PG_PORT:-54329}" "$(( ${SOVEREVAL_PG_PORT:-54329} + 50 ))"); do
    port_busy "$candidate" && continue
    if as_pg "$BINDIR/pg_ctl" -D "$DATADIR" -l "$LOGFILE" -w -t 60 start \
        -o "-p $candidate -c listen_addresses=127.0.0.1 -k $WORKDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >/dev/null 2>&1; then
        PORT=$candidate
        STARTED=1
        break
    fi
    # lost a race for the port (or another failure): try the next one, keeping the log for the end
done
if [[ -z "$PORT" ]]; then
    cat "$LOGFILE" >&2 2>/dev/null || true
    say "ERROR: could not start PostgreSQL on any port from ${SOVEREVAL_PG_PORT:-54329}"
    exit 1
fi

for _ in $(seq 1 60); do
    "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres && break
    sleep 0.5
done
"$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres || {
    cat "$LOGFILE" >&2
    say "ERROR: PostgreSQL did not become ready"
    exit 1
}
"$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres sovereval_test

export SOVEREVAL_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/sovereval_test"
say "PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (cluster $DATADIR)"

# In the background (keeping stdin) so that a signal to this script is handled at once.
"$@" <&0 &
CHILD=$!
set +e
wait "$CHILD"
status=$?
set -e
CHILD=""
exit "$status"
