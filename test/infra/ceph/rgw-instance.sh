#!/bin/bash
# Runs inside the Ceph chroot (see ceph-rgw.sh): a throw-away cluster of one monitor and one memstore OSD,
# no manager, no cephx, and radosgw serving S3 on 127.0.0.1:PORT. Starts the daemons, creates the test
# user, prints "READY mon=PID osd=PID rgw=PID" and returns; the daemons keep running.
#   rgw-instance.sh DATA_DIR PORT MON_PORT
set -euo pipefail
DATA=${1:?data directory}
PORT=${2:?S3 port}
MON_PORT=${3:?monitor port}
ACCESS_KEY=${CEPH_ACCESS_KEY:-AKTEST000000000000001}
SECRET_KEY=${CEPH_SECRET_KEY:-SKTEST0000000000000000000000000000000001}

mkdir -p "$DATA"/{mon,osd,run,log,rgw}
CONF="$DATA/ceph.conf"
FSID=$(cat /proc/sys/kernel/random/uuid)

# One host, one copy of everything, no authentication, small timeouts: a test cluster, not a durable one.
cat > "$CONF" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms mon service mode = crc
ms service mode = crc
ms cluster mode = crc
ms mon cluster mode = crc
run dir = $DATA/run
admin socket = $DATA/run/\$name.asok
log file = $DATA/log/\$name.log
mon data = $DATA/mon
osd data = $DATA/osd
keyring = $DATA/keyring
osd objectstore = memstore
memstore device bytes = 4294967296
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail crit = 1
mon data avail warn = 2
paxos propose interval = 0.05
paxos min wait = 0.01
mon osd report timeout = 60
osd crush chooseleaf type = 0
osd crush update on start = true
osd class load list = *
osd class default list = *
debug ms = 0
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT tcp_nodelay=1
rgw data = $DATA/rgw
log file = $DATA/log/rgw.log
CONF
: > "$DATA/keyring"

# Polls a command every 0.2 s, up to $1 times.
retry() {
  local times=$1; shift
  for _ in $(seq "$times"); do "$@" && return 0; sleep 0.2; done
  echo "timed out waiting for: $*" >&2
  return 1
}

monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DATA/monmap" > /dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DATA/monmap" > /dev/null
ceph-mon -c "$CONF" -i a -f < /dev/null > "$DATA/log/mon.out" 2>&1 &
echo $! > "$DATA/mon.pid"

OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
retry 150 ceph -c "$CONF" --connect-timeout 2 osd new "$OSD_UUID" > /dev/null 2>&1
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" > /dev/null 2>&1
ceph-osd -c "$CONF" -i 0 -f < /dev/null > "$DATA/log/osd.out" 2>&1 &
echo $! > "$DATA/osd.pid"
osd_up() { ceph -c "$CONF" osd stat 2> /dev/null | grep -q ' 1 up'; }
retry 300 osd_up

radosgw -c "$CONF" -n client.rgw -f < /dev/null > "$DATA/log/rgw.out" 2>&1 &
echo $! > "$DATA/rgw.pid"
port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null; }
retry 300 port_open

radosgw-admin -c "$CONF" -n client.rgw --admin-socket /dev/null/none user create --uid tester --display-name tester \
  --access-key "$ACCESS_KEY" --secret "$SECRET_KEY" > "$DATA/log/user.json" 2> "$DATA/log/user.err" || {
  cat "$DATA/log/user.err" >&2
  exit 1
}
echo "READY mon=$(cat "$DATA/mon.pid") osd=$(cat "$DATA/osd.pid") rgw=$(cat "$DATA/rgw.pid")"
