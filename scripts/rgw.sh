#!/usr/bin/env bash
# A throwaway single-zone Ceph RGW on 127.0.0.1 (see ../shared/notes/ceph-rgw.md):
# one mon, one memstore OSD, one radosgw, one S3 user.
#
#   scripts/rgw.sh start DIR [PORT]   start; writes DIR/env (RGW_ENDPOINT, keys)
#   scripts/rgw.sh stop DIR           stop every daemon started in DIR
#
# RGW_TLS=1 adds an HTTPS endpoint beside the plain one: a throwaway CA and a
# server certificate (for 127.0.0.1, localhost and pqf-*.localhost buckets)
# are made with openssl in DIR/tls, and DIR/env gets RGW_HTTPS_ENDPOINT
# (https://127.0.0.1:PORT) and RGW_CA (the CA's PEM, for --ca-bundle).
# Virtual-hosted addressing: `rgw dns name = localhost`, so a request to
# BUCKET.localhost:PORT names its bucket in the Host header. No DNS is
# involved: names under .localhost are loopback (RFC 6761) and libcurl
# resolves them to 127.0.0.1 itself.
#
# Idempotent package install (ceph-mon ceph-osd radosgw ceph-common awscli
# rclone) when missing. RGW_MEMSTORE_BYTES sizes the OSD (default 4 GiB).
# RGW_CLUSTER_ONLY=1 stops after the mon and the OSD (scripts/rgw-multisite.sh
# adds its own gateways); DIR/env then has RGW_CONF only.
# SSE-KMS uses the "testing" backend with key id "testkey"; SSE-C works over
# plain HTTP (rgw crypt require ssl = false) unless RGW_TLS=1 (then RGW, like
# AWS, refuses SSE-C keys sent in the clear). RGW_STS=1 turns STS on
# (GetSessionToken), for temporary credentials with a session token.
# RGW_DEBUG_OFF=1 turns Ceph's debug logging off in every daemon (each
# subsystem's file and in-memory levels 0/0 instead of Ceph's defaults, 1/5 for
# rgw, osd and mon): bench/store.sh uses it, tests keep the defaults (the logs
# they print when a daemon does not come up need them).
set -eu
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/daemon-lib.sh"

PKGS=(ceph-mon ceph-osd radosgw ceph-common awscli rclone)

install_pkgs() {
    local missing=() p
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "rgw: installing ${missing[*]}" >&2
    local SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A throwaway CA (ca.pem, ca.key) and a server certificate it signed
# (server.pem, server.key) valid for 127.0.0.1, localhost and the test
# buckets' virtual hosts. OpenSSL refuses a wildcard right under a one-label
# name (*.localhost), so those hosts are listed one by one.
make_certs() {
    local d=$1
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pqfeed test CA" \
        -keyout "$d/ca.key" -out "$d/ca.pem" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" \
        -out "$d/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:pqf-test.localhost,DNS:pqf-tls.localhost,DNS:pqf-vhost.localhost\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
    chmod 600 "$d/ca.key" "$d/server.key"
}

start() {
    local dir=$1 port=${2:-}
    install_pkgs
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -n "$port" ] || port=$(free_port)
    local monport v1port
    monport=$(free_port); v1port=$(free_port)
    local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
    local bytes=${RGW_MEMSTORE_BYTES:-$((4 << 30))}
    local kmskey; kmskey=$(head -c 32 /dev/urandom | base64)
    local stskey; stskey=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
    local require_ssl=false sts=
    # Off by default: with STS on, RGW 16 reports a wrong secret as AccessDenied,
    # not SignatureDoesNotMatch.
    [ "${RGW_STS:-0}" = 1 ] && sts="rgw s3 auth use sts = true
rgw sts key = $stskey"
    local debug=
    if [ "${RGW_DEBUG_OFF:-0}" = 1 ]; then
        local sub
        for sub in rgw rgw_sync osd mon paxos ms monc auth rados objecter objclass memstore \
            bluestore filestore journal finisher context crush optracker throttle asok; do
            debug+="debug $sub = 0/0"$'\n'
        done
    fi
    mkdir -p "$dir"/{mon,osd,run,log}
    local frontends="beast endpoint=127.0.0.1:$port${RGW_FRONTEND_EXTRA:+ $RGW_FRONTEND_EXTRA}" sport=
    if [ "${RGW_TLS:-0}" = 1 ]; then
        sport=$(free_port)
        make_certs "$dir/tls"
        frontends+=" ssl_endpoint=127.0.0.1:$sport ssl_certificate=$dir/tls/server.pem"
        frontends+=" ssl_private_key=$dir/tls/server.key"
        require_ssl=true
    fi
    cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$monport,v1:127.0.0.1:$v1port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $dir/keyring
osd objectstore = memstore
memstore device bytes = $bytes
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
paxos propose interval = 0.1
paxos min wait = 0.01
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
ms bind ipv6 = false
mon_warn_on_pool_no_redundancy = false
$debug
[client.rgw.pqf]
rgw frontends = $frontends
rgw dns name = localhost
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = testkey=$kmskey
rgw crypt require ssl = $require_ssl
$sts
rgw enable usage log = false
rgw thread pool size = 64
EOF
    local C=(-c "$dir/ceph.conf")
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
        --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$monport,v1:127.0.0.1:$v1port]" "$dir/monmap" >/dev/null
    ceph-mon "${C[@]}" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" >/dev/null 2>&1
    ceph-mon "${C[@]}" -i a
    wait_for 30 ceph "${C[@]}" --connect-timeout 5 -s
    local uuid; uuid=$(cat /proc/sys/kernel/random/uuid)
    local id; id=$(ceph "${C[@]}" osd new "$uuid")
    mkdir -p "$dir/osd/ceph-$id"
    ceph-authtool --create-keyring "$dir/osd/ceph-$id/keyring" --gen-key -n "osd.$id" >/dev/null
    ceph "${C[@]}" auth add "osd.$id" osd 'allow *' mon 'allow profile osd' -i "$dir/osd/ceph-$id/keyring" >/dev/null 2>&1
    ceph-osd "${C[@]}" -i "$id" --mkfs --osd-uuid "$uuid" --keyring "$dir/osd/ceph-$id/keyring" >/dev/null 2>&1
    ceph-osd "${C[@]}" -i "$id" --keyring "$dir/osd/ceph-$id/keyring" >/dev/null 2>&1
    ceph "${C[@]}" auth get-or-create client.rgw.pqf mon 'allow rw' osd 'allow rwx' -o "$dir/rgw.keyring" >/dev/null 2>&1
    cat "$dir/rgw.keyring" >>"$dir/keyring"
    wait_for 60 bash -c "ceph -c '$dir/ceph.conf' osd stat | grep -q '1 up'"
    if [ -n "${RGW_CLUSTER_ONLY:-}" ]; then
        echo "RGW_CONF=$dir/ceph.conf" >"$dir/env"
        return 0
    fi
    radosgw "${C[@]}" -n client.rgw.pqf --keyring "$dir/keyring"
    local ak=PQFTESTACCESSKEY sk; sk=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
    wait_for 60 curl -sf -o /dev/null "http://127.0.0.1:$port/" || {
        echo "rgw: radosgw did not come up; log tail:" >&2; tail -n 20 "$dir/log/client.rgw.pqf.log" >&2; return 1; }
    radosgw-admin "${C[@]}" user create --uid=pqf --display-name=pqf --access-key="$ak" --secret="$sk" >/dev/null 2>&1
    cat >"$dir/env" <<EOF
RGW_ENDPOINT=http://127.0.0.1:$port
RGW_ACCESS_KEY=$ak
RGW_SECRET_KEY=$sk
RGW_KMS_KEY_ID=testkey
RGW_CONF=$dir/ceph.conf
EOF
    if [ -n "$sport" ]; then
        wait_for 30 curl -sf --cacert "$dir/tls/ca.pem" -o /dev/null "https://127.0.0.1:$sport/" || {
            echo "rgw: the HTTPS endpoint did not come up; log tail:" >&2
            tail -n 20 "$dir/log/client.rgw.pqf.log" >&2; return 1; }
        printf 'RGW_HTTPS_ENDPOINT=https://127.0.0.1:%s\nRGW_CA=%s\n' "$sport" "$dir/tls/ca.pem" >>"$dir/env"
    fi
    echo "rgw: up at http://127.0.0.1:$port (dir $dir)" >&2
}

stop() {
    local dir=$1 f pid
    [ -d "$dir/run" ] || return 0
    for f in "$dir"/run/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        # Only our own daemons: the pid file is in our folder; check its cmdline too.
        if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$dir/ceph.conf"; then
            kill "$pid" 2>/dev/null || true
        fi
    done
    for f in "$dir"/run/*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
        if [ -d "/proc/$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$dir/ceph.conf"; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
}

case "${1:-}" in
start) start "$2" "${3:-}" ;;
stop) stop "$2" ;;
install) install_pkgs ;;
*) echo "usage: $0 start DIR [PORT] | stop DIR | install" >&2; exit 2 ;;
esac
