#!/bin/bash
# Ceph RGW, a real S3 engine that honours If-Match / If-None-Match, as the tests' S3 server. It runs from a
# Debian chroot (Ceph 20 from the forky suite), one throw-away cluster per test file. Needs root.
#
#   ceph-rgw.sh install                  build the chroot once (apt + mmdebstrap, 1-3 min, ~700 MB); a no-op
#                                        when it is there
#   ceph-rgw.sh installed                exit status 0 when the chroot is ready
#   ceph-rgw.sh run PORT MON_PORT        start an instance (about 2 s) with its own data directory, print
#                                        "READY ...", and stop it (by PID) and remove its data when stdin
#                                        closes or on SIGTERM/SIGINT
#
# Instances share nothing but the chroot's files: each has its own data directory, ports and a private mount
# namespace for the chroot's /proc and /dev, so starting or stopping one never touches another.
set -euo pipefail
SUITE=${CEPH_SUITE:-forky}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}
ROOT=${CEPH_ROOT:-$CACHE/ceph-s3-$SUITE-root}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA_HOST=''
WAITER=''

installed() { [ -x "$ROOT/usr/bin/radosgw" ] && [ -x "$ROOT/usr/bin/ceph-mon" ] && [ -x "$ROOT/usr/bin/ceph-osd" ]; }

install_chroot() {
  if installed; then
    echo "Ceph RGW chroot present: $ROOT"
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! command -v mmdebstrap > /dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends mmdebstrap
  fi
  # The Debian mirror this machine uses (deb822 sources first, then the classic list).
  local mirror=${CEPH_MIRROR:-}
  [ -n "$mirror" ] || mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2> /dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2> /dev/null || true)
  [ -n "$mirror" ] || { echo "ceph-rgw: no Debian mirror found in the apt sources; set CEPH_MIRROR" >&2; exit 1; }
  mkdir -p "$CACHE"
  # Built next to its final place and renamed when complete: an interrupted install never looks installed.
  local partial="$ROOT.partial"
  rm -rf "$partial"
  mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
    --include=radosgw,ceph-mon,ceph-osd "$SUITE" "$partial" "$mirror"
  rm -rf "$ROOT"
  mv "$partial" "$ROOT"
  echo "Ceph RGW chroot installed: $ROOT"
}

# A killed daemon stays a zombie until its new parent (often a container's init) reaps it: that counts as gone.
alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2> /dev/null; }

# Kills this instance's daemons by the PIDs they wrote and removes its data directory.
stop_instance() {
  [ -z "$WAITER" ] || kill "$WAITER" 2> /dev/null || true
  [ -n "$DATA_HOST" ] || return 0
  local pids=() pid daemon
  for daemon in rgw osd mon; do
    [ -f "$DATA_HOST/$daemon.pid" ] || continue
    pid=$(cat "$DATA_HOST/$daemon.pid")
    # Only our own daemon: a PID could have been reused if it died long ago.
    case "$(cat "/proc/$pid/comm" 2> /dev/null)" in
      radosgw | ceph-osd | ceph-mon) kill -KILL "$pid" 2> /dev/null && pids+=("$pid") ;;
    esac
  done
  # The data is thrown away, so there is nothing to shut down cleanly; wait until they are gone.
  for pid in "${pids[@]}"; do
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
  done
  rm -rf "$DATA_HOST"
}

run_instance() {
  local port=${1:?S3 port} mon_port=${2:?monitor port}
  installed || { echo "Ceph RGW is not installed: run $0 install (as root)" >&2; exit 3; }
  trap stop_instance EXIT
  trap 'exit 143' TERM INT HUP
  DATA_HOST=$(mktemp -d "$ROOT/srv/smartregistry-ceph.XXXXXXXX")
  local data=${DATA_HOST#"$ROOT"}
  cp "$HERE/rgw-instance.sh" "$DATA_HOST/rgw-instance.sh"
  # The daemons keep this private mount namespace (and its /proc and /dev mounts) alive; it goes with them.
  unshare --mount --propagation private /bin/bash -c '
    mount --bind /proc "$1/proc" && mount --bind /dev "$1/dev" &&
    exec chroot "$1" /bin/bash "$2/rgw-instance.sh" "$2" "$3" "$4"' _ "$ROOT" "$data" "$port" "$mon_port" < /dev/null

  # Until whoever started us closes our stdin (or ends). A background job reads /dev/null unless told otherwise.
  exec 3<&0
  cat <&3 > /dev/null &
  WAITER=$!
  wait "$WAITER" || true
}

case "${1:-}" in
  install) install_chroot ;;
  installed) installed ;;
  run) run_instance "${2:-}" "${3:-}" ;;
  *)
    echo "usage: $0 install | installed | run PORT MON_PORT" >&2
    exit 2
    ;;
esac
