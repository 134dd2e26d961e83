#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite, on 127.0.0.1 only.
#
#   tests/pg.sh run -- CMD...   start a cluster in a new temporary directory (in /dev/shm when
#                               it has 1 GiB free and TMPDIR is unset), run CMD with
#                               TEST_DATABASE_URL (and PGHOST, PGPORT, PGUSER) exported, then
#                               stop the cluster and delete it; exits with CMD's status.
#   tests/pg.sh start           start a cluster in $PGROOT and print the variables to export
#   tests/pg.sh status          is the cluster in $PGROOT running?
#   tests/pg.sh stop            stop the cluster in $PGROOT (its files stay until deleted)
#
# Settings: PGBIN (default: the newest /usr/lib/postgresql/*/bin), PGPORT (default: a free
# port), PGROOT for start/status/stop (default: $TMPDIR/course-platform-pg-$USER).
#
# TEST_DATABASE_URL names the database "courses", owned by the role "app", which may create
# databases: the tests build their own databases next to it. initdb refuses to run as root, so
# as root the cluster runs as the postgres system user.
set -euo pipefail

die() {
    echo "pg.sh: $*" >&2
    exit 2
}

find_pgbin() {
    if [ -n "${PGBIN:-}" ]; then
        echo "$PGBIN"
        return
    fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$dir" ] && command -v initdb >/dev/null 2>&1; then
        dir=$(dirname "$(command -v initdb)")
    fi
    echo "$dir"
}

PGBIN=$(find_pgbin)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    die "initdb not found: install Debian's postgresql package (apt-get install postgresql)"
fi

# Runs a command as the cluster's owner: postgres when we are root, ourselves otherwise.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    if [ -n "${PGPORT:-}" ]; then
        echo "$PGPORT"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
    else
        echo 54329
    fi
}

# Where `run` puts its cluster: memory (/dev/shm) when it has room, so that creating and
# dropping a database per test never waits on the disk; otherwise $TMPDIR.
scratch_parent() {
    local avail_kib
    if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
        avail_kib=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 {print $4}')
        if [ "${avail_kib:-0}" -ge $((1024 * 1024)) ]; then
            echo /dev/shm
            return
        fi
    fi
    echo "${TMPDIR:-/tmp}"
}

psql_admin() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
}

app_url() {
    echo "postgresql+psycopg://app:app@127.0.0.1:$PORT/courses"
}

# start_cluster ROOT: a new cluster in ROOT/data, listening on $PORT, with the app role and
# database. ROOT must exist.
start_cluster() {
    local root=$1
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the postgres system user"
        chown postgres:postgres "$root"
    fi
    as_pg "$PGBIN/initdb" -D "$root/data" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >"$root/initdb.log" 2>&1 || {
        cat "$root/initdb.log" >&2
        die "initdb failed"
    }
    as_pg mkdir -p "$root/sock"
    echo "$PORT" | as_pg tee "$root/port" >/dev/null
    # fsync, synchronous_commit and full_page_writes are off: faster, and safe only because
    # this cluster is thrown away (a crash may corrupt it). Never use these for real data.
    # Autovacuum is off too: its workers belong to another role, so the tests' DROP DATABASE
    # ... WITH (FORCE) could not end one that had just started in a test's database.
    if ! as_pg "$PGBIN/pg_ctl" -D "$root/data" -l "$root/server.log" -w -t 30 -o \
        "-c listen_addresses=127.0.0.1 -p $PORT -k $root/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c autovacuum=off" \
        start >/dev/null; then
        cat "$root/server.log" >&2 || true
        die "the server did not start on 127.0.0.1:$PORT"
    fi
    psql_admin -c "CREATE ROLE app LOGIN PASSWORD 'app' CREATEDB"
    psql_admin -c "CREATE DATABASE courses OWNER app"
}

stop_cluster() {
    local root=$1
    if [ -f "$root/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$root/data" -m fast -w -t 30 stop >/dev/null || true
    fi
}

command=${1:-}
case "$command" in
run)
    shift
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || die "usage: tests/pg.sh run -- CMD..."
    ROOT=$(mktemp -d "$(scratch_parent)/pg.XXXXXX")
    chmod 755 "$ROOT" # the postgres user must reach it when we are root
    cleanup() {
        stop_cluster "$ROOT"
        rm -rf "$ROOT"
    }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    PORT=$(free_port)
    start_cluster "$ROOT"
    export TEST_DATABASE_URL
    TEST_DATABASE_URL=$(app_url)
    export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres
    echo "pg.sh: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
    set +e
    "$@"
    status=$?
    set -e
    exit "$status"
    ;;
start)
    ROOT=${PGROOT:-${TMPDIR:-/tmp}/course-platform-pg-$(id -un)}
    if [ -f "$ROOT/data/postmaster.pid" ]; then
        die "a cluster is already running in $ROOT (tests/pg.sh stop)"
    fi
    rm -rf "$ROOT"
    mkdir -p "$ROOT"
    PORT=$(free_port)
    start_cluster "$ROOT"
    echo "export TEST_DATABASE_URL=$(app_url)"
    echo "export DATABASE_URL=$(app_url)"
    ;;
status)
    ROOT=${PGROOT:-${TMPDIR:-/tmp}/course-platform-pg-$(id -un)}
    [ -d "$ROOT/data" ] || {
        echo "no cluster in $ROOT"
        exit 3
    }
    as_pg "$PGBIN/pg_ctl" -D "$ROOT/data" status
    [ -f "$ROOT/port" ] && echo "port $(cat "$ROOT/port")"
    ;;
stop)
    ROOT=${PGROOT:-${TMPDIR:-/tmp}/course-platform-pg-$(id -un)}
    stop_cluster "$ROOT"
    ;;
*)
    echo "usage: tests/pg.sh start | status | stop | run -- CMD..." >&2
    exit 2
    ;;
esac
