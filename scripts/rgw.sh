#!/usr/bin/env bash
# A throw-away single-node Ceph RADOS Gateway (S3) on 127.0.0.1 for picstore's tests and benchmarks.
#
#   scripts/rgw.sh install   as root on Debian/Ubuntu: apt-get the Ceph daemons (skipped when present)
#   scripts/rgw.sh start     mon + mgr + osd + radosgw under $RGW_DIR; no-op when already answering
#   scripts/rgw.sh stop      stop the daemons (by pid file) and wipe $RGW_DIR (KEEP=1 keeps it)
#   scripts/rgw.sh status    exit 0 and print the endpoint when RGW answers, else exit 1
#   scripts/rgw.sh env       print export lines for the AWS_* variables of the test user
#
# Environment:
#   RGW_PORT       S3 port (default 7480)
#   RGW_DIR        data, config, pid files and logs (default ${TMPDIR:-/tmp}/picstore-rgw)
#   RGW_STORE      memstore (default; all objects in RAM, fastest start) | bluestore (sparse file, bounded RAM)
#   RGW_MON_PORT / RGW_MON_V1_PORT   the monitor's ports (default 3300 / 6789)
#   RGW_TIMEOUT    seconds to wait for each daemon (default 120)
#   S3_ACCESS_KEY / S3_SECRET_KEY   the S3 user's keys (default test / testsecret)
set -euo pipefail

RGW_PORT=${RGW_PORT:-7480}
RGW_DIR=${RGW_DIR:-${TMPDIR:-/tmp}/picstore-rgw}
RGW_STORE=${RGW_STORE:-${OSD_STORE:-memstore}}
RGW_TIMEOUT=${RGW_TIMEOUT:-120}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-test}
S3_SECRET_KEY=${S3_SECRET_KEY:-testsecret}
ENDPOINT="http://127.0.0.1:$RGW_PORT"
# The monitor's ports (msgr v2 and v1); change them to run a second cluster next to the first.
MON_V2=${RGW_MON_PORT:-3300}
MON_V1=${RGW_MON_V1_PORT:-6789}

log() { printf 'rgw.sh: %s\n' "$*" >&2; }
STARTING=0
die() {
  log "ERROR: $*"
  if [ "$STARTING" = 1 ] && [ -d "$RGW_DIR/log" ]; then
    for f in "$RGW_DIR"/log/*.log; do
      [ -s "$f" ] || continue
      printf '  --- last lines of %s ---\n' "$f" >&2
      tail -n 4 "$f" | cut -c1-200 | sed 's/^/  /' >&2
    done
  fi
  if [ "$STARTING" = 1 ]; then
    # Do not leave half a cluster running; keep its directory so the logs can be read.
    STARTING=0 KEEP=1 cmd_stop >/dev/null 2>&1 || true
    log "ERROR: $* (logs: $RGW_DIR/log)"
  fi
  exit 1
}

# wait_for WHAT TIMEOUT DAEMON CMD...: poll CMD until it succeeds; fail fast if DAEMON (a pid-file name
# such as osd.0, or "-") has exited, and after TIMEOUT seconds, saying what was awaited.
wait_for() {
  local what=$1 timeout=$2 daemon=$3; shift 3
  local deadline=$((SECONDS + timeout)) pidfile=$RGW_DIR/run/$daemon.pid pid=""
  until "$@" >/dev/null 2>&1; do
    # Daemons remove their pid file when they exit, so remember the pid as soon as it is written.
    if [ -z "$pid" ] && [ -f "$pidfile" ]; then pid=$(cat "$pidfile" 2>/dev/null || true); fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then die "$daemon exited while waiting for $what"; fi
    if ((SECONDS >= deadline)); then die "timed out after ${timeout}s waiting for $what"; fi
    sleep 0.2
  done
}

# Remove $RGW_DIR only if this script made it (marker file) or it is empty: RGW_DIR=$HOME must not be wiped.
wipe_dir() {
  [ -e "$RGW_DIR" ] || return 0
  if [ -f "$RGW_DIR/.picstore-rgw" ] || { [ -f "$RGW_DIR/ceph.conf" ] && [ -d "$RGW_DIR/mon/a" ]; } \
    || [ -z "$(ls -A "$RGW_DIR" 2>/dev/null)" ]; then
    rm -rf "$RGW_DIR"
  else
    die "$RGW_DIR exists and was not made by rgw.sh; refusing to wipe it (choose another RGW_DIR)"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answers() {
  # An S3 answer (every one carries x-amz-request-id), not just anything listening on the port.
  curl -s -o /dev/null -m 2 -D - "$ENDPOINT/" | grep -qi '^x-amz-request-id:'
}

cmd_install() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null \
    && command -v ceph-mgr >/dev/null && command -v radosgw-admin >/dev/null && command -v curl >/dev/null; then
    log "ceph already installed ($(radosgw --version 2>/dev/null | head -n1 || echo radosgw))"
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "install needs root (apt-get); run: sudo $0 install"
  command -v apt-get >/dev/null || die "install supports Debian/Ubuntu (apt-get) only"
  export DEBIAN_FRONTEND=noninteractive
  # postinst scripts would try to start systemd units, which do nothing useful (or hang) in containers.
  # policy-rc.d exit 101 forbids it; only add our guard if nobody else put one there, and remove it after.
  local guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
  fi
  log "installing ceph-mon ceph-osd ceph-mgr radosgw ceph-common (about a minute)"
  local ok=1
  apt-get update -qq && apt-get install -y -q --no-install-recommends \
    ceph-mon ceph-osd ceph-mgr radosgw ceph-common curl || ok=0
  if [ -n "$guard" ]; then rm -f "$guard"; fi
  [ "$ok" = 1 ] || die "apt-get install of the ceph packages failed (see apt output above)"
  log "installed $(radosgw --version | head -n1)"
}

write_conf() {
  local fsid=$1
  cat >"$RGW_DIR/ceph.conf" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
# radosgw hangs with auth = none: cephx with a keyring per daemon.
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
keyring = $RGW_DIR/keyring
run_dir = $RGW_DIR/run
pid_file = $RGW_DIR/run/\$name.pid
admin_socket = $RGW_DIR/run/\$name.asok
log_file = $RGW_DIR/log/\$name.log
crash_dir = $RGW_DIR/crash
# One OSD: pools of size 1, few PGs, no health warnings that block anything.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 1
mon_data_avail_crit = 0

[mon]
mon_data = $RGW_DIR/mon/\$id
# The monitor batches map changes for 1 s by default; on one node that only adds waiting to every
# 'ceph auth'/'osd new'/pool creation during start.
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
mon_cluster_log_file = $RGW_DIR/log/cluster.log

[mgr]
mgr_data = $RGW_DIR/mgr/\$id
keyring = $RGW_DIR/mgr/\$id/keyring

[osd]
osd_data = $RGW_DIR/osd/\$id
keyring = $RGW_DIR/osd/\$id/keyring
osd_objectstore = $RGW_STORE
memstore_device_bytes = 8589934592
bluestore_block_path = $RGW_DIR/osd/\$id/block.file
bluestore_block_create = true
bluestore_block_size = 10737418240
bluestore_fsck_on_mount = false
# RGW object names are long; the defaults assume XFS/ext4 limits that do not apply to these stores.
osd_max_object_name_len = 460
osd_max_object_namespace_len = 64
osd_memory_target = 2147483648

[client.rgw.gw0]
# tcp_nodelay: without it every GET waits ~40 ms for Nagle + delayed ACK.
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw_data = $RGW_DIR/rgw
keyring = $RGW_DIR/rgw/keyring
rgw_enable_usage_log = false
rgw_dns_name = localhost
EOF
}

ceph_() { timeout 30 ceph --conf "$RGW_DIR/ceph.conf" --connect-timeout 5 "$@"; }

osd_up() { ceph_ osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1'; }

cmd_start() {
  local t0=$SECONDS
  if answers; then
    log "already running at $ENDPOINT"
    echo "$ENDPOINT"
    return 0
  fi
  command -v radosgw >/dev/null || die "ceph is not installed; run: $0 install (as root)"
  command -v curl >/dev/null || die "curl is needed to probe the gateway; run: $0 install (as root)"
  # Something half-started (a daemon died, or a previous start timed out): clean up before starting over.
  if ls "$RGW_DIR"/run/*.pid >/dev/null 2>&1; then
    log "stale cluster in $RGW_DIR (not answering); stopping it first"
    cmd_stop
  fi
  local port
  for port in "$RGW_PORT" "$MON_V2" "$MON_V1"; do
    if port_in_use "$port"; then
      die "127.0.0.1:$port is taken by something that is not this RGW; pick other ports (RGW_PORT, RGW_MON_PORT, RGW_MON_V1_PORT)"
    fi
  done
  wipe_dir
  mkdir -p "$RGW_DIR"/{mon/a,osd/0,mgr/x,rgw,run,log,crash}
  touch "$RGW_DIR/.picstore-rgw"
  STARTING=1
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  export CEPH_CONF=$RGW_DIR/ceph.conf
  write_conf "$fsid"
  log "starting ceph in $RGW_DIR (store=$RGW_STORE, port=$RGW_PORT)"

  # monitor
  ceph-authtool --create-keyring "$RGW_DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$RGW_DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
  monmaptool --create --clobber --fsid "$fsid" \
    --addv a "[v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]" "$RGW_DIR/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$RGW_DIR/monmap" --keyring "$RGW_DIR/keyring" \
    >"$RGW_DIR/log/mon-mkfs.log" 2>&1 || die "ceph-mon --mkfs failed"
  ceph-mon -i a 2>>"$RGW_DIR/log/daemons-stderr.log" || die "ceph-mon failed to start"
  wait_for "the monitor" "$RGW_TIMEOUT" mon.a ceph_ -s
  ceph_ config set mon auth_allow_insecure_global_id_reclaim false >/dev/null 2>&1 || true

  # manager: not needed for I/O, but without it 'ceph -s' reports a warning forever; failure is not fatal.
  ceph_ auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
    -o "$RGW_DIR/mgr/x/keyring" >/dev/null
  ceph-mgr -i x 2>>"$RGW_DIR/log/daemons-stderr.log" || log "WARN: ceph-mgr failed to start (not needed for S3)"

  # one OSD
  local uuid id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph_ osd new "$uuid") || die "ceph osd new failed"
  [ "$id" = 0 ] || die "expected osd.0, got osd.$id"
  ceph_ auth get-or-create "osd.$id" mon 'allow profile osd' mgr 'allow profile osd' osd 'allow *' \
    -o "$RGW_DIR/osd/$id/keyring" >/dev/null
  ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" >"$RGW_DIR/log/osd-mkfs.log" 2>&1 || die "ceph-osd --mkfs failed"
  ceph-osd -i "$id" 2>>"$RGW_DIR/log/daemons-stderr.log" || die "ceph-osd failed to start"
  wait_for "osd.$id to be up" "$RGW_TIMEOUT" "osd.$id" osd_up

  # the gateway
  ceph_ auth get-or-create client.rgw.gw0 mon 'allow rw' osd 'allow rwx' mgr 'allow rw' \
    -o "$RGW_DIR/rgw/keyring" >/dev/null
  radosgw -n client.rgw.gw0 2>>"$RGW_DIR/log/daemons-stderr.log" || die "radosgw failed to start"
  wait_for "radosgw to answer on $ENDPOINT" "$RGW_TIMEOUT" client.rgw.gw0 answers
  timeout 60 radosgw-admin user create --uid=test --display-name="picstore test user" \
    --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >/dev/null \
    || die "radosgw-admin user create failed"
  STARTING=0
  log "RGW ready at $ENDPOINT (access key $S3_ACCESS_KEY) store=$RGW_STORE in $((SECONDS - t0))s; logs in $RGW_DIR/log"
  echo "$ENDPOINT"
}

# Signal the daemons named in "$@" together, give them 10 s, then SIGKILL what is left.
stop_daemons() {
  local n f pid alive pids=()
  for n in "$@"; do
    f=$RGW_DIR/run/$n.pid
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    # Only signal the pid if it still is a ceph daemon: a stale pid file may name a reused pid.
    if [ -n "$pid" ] && grep -qE 'ceph|radosgw' "/proc/$pid/comm" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$f"
  done
  for _ in $(seq 1 40); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.25
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}

cmd_stop() {
  # In order: a gateway whose OSD is gone hangs on shutdown, and an OSD whose monitor is gone waits
  # seconds to report itself down.
  stop_daemons client.rgw.gw0
  stop_daemons osd.0
  stop_daemons mgr.x mon.a
  if [ "${KEEP:-0}" != 1 ]; then wipe_dir; fi
  log "stopped"
}

cmd_status() {
  if answers; then
    echo "running at $ENDPOINT (dir $RGW_DIR)"
  else
    echo "not answering at $ENDPOINT"
    return 1
  fi
}

cmd_env() {
  echo "export AWS_ENDPOINT_URL=$ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_REGION=us-east-1"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
