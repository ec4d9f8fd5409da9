# Shell functions the throwaway-server scripts share (sourced by scripts/rgw.sh,
# scripts/rgw-multisite.sh and scripts/pg.sh).

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS CMD...: run CMD every 0.2 s until it succeeds; 1 after SECONDS.
wait_for() {
    local t=$1; shift
    local end=$((SECONDS + t))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
