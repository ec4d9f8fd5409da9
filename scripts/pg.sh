#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (Debian's `postgresql` package) for tests and
# benchmarks: initdb in a fresh temporary folder as a non-root user, listening
# on a unix socket in that folder (and on 127.0.0.1 with PG_TCP=1), trust
# authentication, one database.
#
#   eval "$(scripts/pg.sh start)"   start; prints shell assignments:
#                                   PQF_PG_DIR (the folder) and PQF_TEST_PG (a
#                                   libpq conninfo string), both exported
#   scripts/pg.sh stop DIR          stop the cluster started in DIR and remove DIR
#   scripts/pg.sh env DIR           print the assignments again
#
# PG_DB (default pqf) names the database, PG_USER (default pqf) the
# superuser. The cluster is tuned for throwaway use (fsync off). Installs the
# package when missing (idempotent). Root runs the server as `nobody`
# (PostgreSQL refuses to run as root); other users run it as themselves.
set -eu
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/daemon-lib.sh"

DB=${PG_DB:-pqf}
SUPER=${PG_USER:-pqf}

log() { echo "pg: $*" >&2; }

pg_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    return 1
}

install_pkgs() {
    pg_bindir >/dev/null && return 0
    log "installing postgresql"
    local SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    pg_bindir >/dev/null || { log "no pg_ctl after installing postgresql"; return 1; }
}

# as_owner CMD...: run CMD as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

print_env() { # dir
    local dir=$1 port
    port=$(cat "$dir/port")
    echo "export PQF_PG_DIR='$dir'"
    echo "export PQF_TEST_PG='host=$dir/sock port=$port dbname=$DB user=$SUPER'"
}

start() {
    install_pkgs
    local bin dir port tcp=${PG_TCP:-0}
    bin=$(pg_bindir)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/pqf-pg.XXXXXX")
    chmod 755 "$dir"
    mkdir -p "$dir/sock"
    [ "$(id -u)" -ne 0 ] || chown -R nobody:nogroup "$dir"
    if [ "$tcp" = 1 ]; then port=$(free_port); else port=5432; fi
    echo "$port" >"$dir/port"
    if ! as_owner "$bin/initdb" -D "$dir/data" -U "$SUPER" -A trust -E UTF8 --locale=C.UTF-8 \
        --no-sync >"$dir/initdb.log" 2>&1; then
        log "initdb failed:"; tail -20 "$dir/initdb.log" >&2; rm -rf "$dir"; return 1
    fi
    local listen=''
    [ "$tcp" = 1 ] && listen='127.0.0.1'
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$dir/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 20
shared_buffers = 128MB
maintenance_work_mem = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
log_min_messages = warning
EOF
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
        log "pg_ctl start failed:"; tail -20 "$dir/server.log" >&2
        as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$dir"; return 1
    fi
    if ! "$bin/psql" -X -q -h "$dir/sock" -p "$port" -U "$SUPER" -d postgres \
        -c "CREATE DATABASE \"$DB\"" >/dev/null 2>"$dir/createdb.err"; then
        log "CREATE DATABASE failed: $(cat "$dir/createdb.err")"
        stop "$dir"; return 1
    fi
    print_env "$dir"
}

stop() { # dir
    local dir=${1:?usage: pg.sh stop DIR} bin
    [ -d "$dir" ] || return 0
    bin=$(pg_bindir) || true
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    case "$dir" in */pqf-pg.*) rm -rf "$dir" ;; esac
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
env) print_env "${2:?usage: pg.sh env DIR}" ;;
*) echo "usage: $0 start | stop DIR | env DIR" >&2; exit 2 ;;
esac
