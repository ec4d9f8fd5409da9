#!/usr/bin/env bash
# A throwaway two-zone Ceph RGW multisite on 127.0.0.1 (see
# ../shared/notes/ceph-rgw.md): one cluster (scripts/rgw.sh with
# RGW_CLUSTER_ONLY=1), realm "pqf", zonegroup "zg", zone-a (master) and
# zone-b, one radosgw each. Without BUCKET:PREFIX arguments every bucket
# replicates both ways (plain multisite). With them, the zonegroup's sync
# policy replicates only those buckets' objects under those prefixes, and
# only from zone-a to zone-b -- the way pqfeed's native mode wants it: data
# files ("BUCKET:TABLE/data/") replicated by the engine, commit objects not,
# and the commits pqfeed publishes at zone-b not copied back.
#
#   scripts/rgw-multisite.sh start DIR [BUCKET:PREFIX..]   writes DIR/env
#                            (RGW_ENDPOINT_A, RGW_ENDPOINT_B, keys, RGW_CONF)
#   scripts/rgw-multisite.sh stop DIR
set -eu
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/daemon-lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

start() {
    local dir=$1
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    RGW_CLUSTER_ONLY=1 "$HERE/rgw.sh" start "$dir"
    local conf=$dir/ceph.conf pa pb
    pa=$(free_port); pb=$(free_port)
    local A=(-c "$conf")
    local sak=PQFSYNCACCESSKEY ssk ak=PQFTESTACCESSKEY sk
    ssk=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
    sk=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
    # realm and zonegroup for every daemon; each gateway names its zone
    sed -i '/^\[global\]/a rgw realm = pqf\nrgw zonegroup = zg' "$conf"
    local z
    for z in a b; do
        local port=$pa; [ $z = b ] && port=$pb
        ceph "${A[@]}" auth get-or-create "client.rgw.$z" mon 'allow rw' osd 'allow rwx' >>"$dir/keyring" 2>/dev/null
        cat >>"$conf" <<EOF
[client.rgw.$z]
rgw zone = zone-$z
rgw frontends = beast endpoint=127.0.0.1:$port
rgw dns name = 127.0.0.1
rgw enable usage log = false
rgw thread pool size = 64
rgw sync log trim interval = 0
EOF
    done
    local ra=(radosgw-admin "${A[@]}")
    "${ra[@]}" realm create --rgw-realm=pqf --default >/dev/null
    "${ra[@]}" zonegroup create --rgw-zonegroup=zg --endpoints="http://127.0.0.1:$pa" --master --default >/dev/null
    "${ra[@]}" zone create --rgw-zonegroup=zg --rgw-zone=zone-a --endpoints="http://127.0.0.1:$pa" \
        --master --default --access-key=$sak --secret="$ssk" >/dev/null
    "${ra[@]}" user create --uid=sync --display-name=sync --access-key=$sak --secret="$ssk" --system >/dev/null
    "${ra[@]}" period update --commit >/dev/null
    "${ra[@]}" zone create --rgw-zonegroup=zg --rgw-zone=zone-b --endpoints="http://127.0.0.1:$pb" \
        --access-key=$sak --secret="$ssk" >/dev/null
    "${ra[@]}" period update --commit >/dev/null
    # The zonegroup's sync policy, before any gateway starts (a running
    # gateway caches a bucket's policy and logs no data changes for it until
    # restarted). The flow stores zone ids, resolved through the current
    # period: hence after zone-b's commit above.
    "${ra[@]}" sync group create --group-id=zg --status=enabled >/dev/null
    if [ $# -gt 1 ]; then
        "${ra[@]}" sync group flow create --group-id=zg --flow-id=a-to-b --flow-type=directional \
            --source-zone=zone-a --dest-zone=zone-b >/dev/null
        local i=0 bp
        for bp in "${@:2}"; do
            i=$((i + 1))
            "${ra[@]}" sync group pipe create --group-id=zg --pipe-id="p$i" --source-zones=zone-a \
                --dest-zones=zone-b --source-bucket="${bp%%:*}" --dest-bucket="${bp%%:*}" \
                --prefix="${bp#*:}" >/dev/null
        done
    else
        "${ra[@]}" sync group flow create --group-id=zg --flow-id=mirror --flow-type=symmetrical \
            --zones=zone-a,zone-b >/dev/null
        "${ra[@]}" sync group pipe create --group-id=zg --pipe-id=all --source-zones='*' \
            --source-bucket='*' --dest-zones='*' --dest-bucket='*' >/dev/null
    fi
    "${ra[@]}" period update --commit >/dev/null
    # Both gateways start in the final period: one started before zone-b
    # joined keeps no data log for it, and nothing replicates.
    radosgw "${A[@]}" -n client.rgw.a --keyring "$dir/keyring"
    radosgw "${A[@]}" -n client.rgw.b --keyring "$dir/keyring"
    wait_for 60 curl -sf -o /dev/null "http://127.0.0.1:$pa/" || {
        echo "rgw-multisite: zone-a did not come up" >&2; tail -n 20 "$dir/log/client.rgw.a.log" >&2; return 1; }
    wait_for 60 curl -sf -o /dev/null "http://127.0.0.1:$pb/" || {
        echo "rgw-multisite: zone-b did not come up" >&2; tail -n 20 "$dir/log/client.rgw.b.log" >&2; return 1; }
    "${ra[@]}" user create --uid=pqf --display-name=pqf --access-key=$ak --secret="$sk" >/dev/null
    cat >"$dir/env" <<EOF
RGW_ENDPOINT_A=http://127.0.0.1:$pa
RGW_ENDPOINT_B=http://127.0.0.1:$pb
RGW_ACCESS_KEY=$ak
RGW_SECRET_KEY=$sk
RGW_CONF=$conf
EOF
    echo "rgw-multisite: zone-a at http://127.0.0.1:$pa, zone-b at http://127.0.0.1:$pb (dir $dir)" >&2
}

case "${1:-}" in
start) start "${@:2}" ;;
stop) "$HERE/rgw.sh" stop "$2" ;;
*) echo "usage: $0 start DIR [BUCKET:PREFIX..] | stop DIR" >&2; exit 2 ;;
esac
