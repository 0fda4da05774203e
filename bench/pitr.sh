#!/usr/bin/env bash
# Point-in-time recovery with pgBackRest (docs/production.md §8), measured: RPO and RTO of the WAL archiving set up
# as the guide says (archive_timeout = 60), on a throw-away PostgreSQL 15 cluster of this machine.
#
#   sudo bash bench/pitr.sh [PORT]        (root: creates and drops the cluster 15/extranet_pitr; default port 5497)
#
# 1. A cluster with archive_mode = on, archive_command = pgbackrest archive-push, archive_timeout = 60; a stanza
#    whose repository is a temporary folder; the portal's schema migrated and the demo loaded in it (flask).
# 2. A full backup (timed). Then writes: one row a second in a marker table, for WRITE_S seconds.
# 3. The disaster: the server is killed (SIGKILL) and its data folder deleted, as a lost disk.
# 4. pgbackrest restore (latest) + start + WAL replay until it accepts connections: the RTO. The newest marker row
#    recovered against the newest committed before the kill: the RPO (data lost, in seconds of writes).
# 5. A point-in-time restore to a chosen moment: the rows after it are absent, those before it present.
# Needs pgbackrest (apt-get install pgbackrest) and the PostgreSQL 15 server with PostGIS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT="${1:-5497}"
CLUSTER=extranet_pitr
WRITE_S="${WRITE_S:-150}"
WORK="$(mktemp -d /tmp/extranet-pitr-XXXXXX)"
chown postgres: "$WORK"
CONF="$WORK/pgbackrest.conf"
DATA="/var/lib/postgresql/15/$CLUSTER"
PY="${PYTHON:-.venv/bin/python}"
now() { date +%s.%N; }
psql_() { psql -h 127.0.0.1 -p "$PORT" -U postgres -d extranet_pitr -Atqc "$1"; }
cleanup() { pg_dropcluster --stop 15 "$CLUSTER" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
echo "load before: $(cat /proc/loadavg)"

cat >"$CONF" <<EOF
[global]
repo1-path=$WORK/repo
repo1-retention-full=2
log-path=$WORK
lock-path=$WORK
start-fast=y
compress-type=lz4

[extranet]
pg1-path=$DATA
pg1-port=$PORT
pg1-socket-path=/var/run/postgresql
EOF
chown postgres: "$CONF"
pg_createcluster 15 "$CLUSTER" -p "$PORT" >/dev/null
cat >>"/etc/postgresql/15/$CLUSTER/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
archive_mode = on
archive_command = 'pgbackrest --config=$CONF --stanza=extranet archive-push %p'
archive_timeout = 60
wal_level = replica
max_wal_senders = 3
EOF
echo "host all all 127.0.0.1/32 trust" >"/etc/postgresql/15/$CLUSTER/pg_hba.conf.new"
cat "/etc/postgresql/15/$CLUSTER/pg_hba.conf" >>"/etc/postgresql/15/$CLUSTER/pg_hba.conf.new"
mv "/etc/postgresql/15/$CLUSTER/pg_hba.conf.new" "/etc/postgresql/15/$CLUSTER/pg_hba.conf"
pg_ctlcluster 15 "$CLUSTER" start
su postgres -c "pgbackrest --config=$CONF --stanza=extranet stanza-create" >/dev/null
su postgres -c "pgbackrest --config=$CONF --stanza=extranet check" >/dev/null
psql -h 127.0.0.1 -p "$PORT" -U postgres -Atqc "CREATE DATABASE extranet_pitr"
psql_ "CREATE EXTENSION postgis"

export DATABASE_URL="postgresql://postgres@127.0.0.1:$PORT/extranet_pitr" INSTANCE_PATH="$WORK/instance"
export SECRET_KEY=pitr-bench DEMO_PASSWORD=Pitr-demo-password-1!
unset REDIS_URL DATABASE_OWNER_URL
"$PY" -m flask --app app db upgrade heads >/dev/null 2>&1
"$PY" -m flask --app app demo load >/dev/null 2>&1
echo "database: $(psql_ "SELECT pg_size_pretty(pg_database_size('extranet_pitr'))"), $(psql_ "SELECT sum(n_live_tup) FROM pg_stat_user_tables") rows"

t0=$(now)
su postgres -c "pgbackrest --config=$CONF --stanza=extranet --type=full backup"
t1=$(now)
echo "full backup: $(echo "$t1 - $t0" | bc) s, repository $(du -sh "$WORK/repo" | cut -f1)"

psql_ "CREATE TABLE pitr_marker (n int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"
for n in $(seq 1 "$WRITE_S"); do
    psql_ "INSERT INTO pitr_marker (n) VALUES ($n)"
    [ "$n" -eq $((WRITE_S / 2)) ] && { sleep 0.5; TARGET="$(psql_ "SELECT clock_timestamp()")"; sleep 0.5; }
    sleep 1
done
last_committed="$(psql_ "SELECT max(n) || ' ' || extract(epoch FROM max(at)) FROM pitr_marker")"
echo "written: rows 1..$WRITE_S, one a second; point-in-time target: $TARGET"

# The disaster: killed, data folder lost.
kill -9 "$(head -1 "$DATA/postmaster.pid")"
sleep 1
rm -rf "${DATA:?}"/*
t2=$(now)
su postgres -c "pgbackrest --config=$CONF --stanza=extranet restore" >/dev/null
t3=$(now)
pg_ctlcluster 15 "$CLUSTER" start
until pg_isready -q -h 127.0.0.1 -p "$PORT"; do sleep 0.2; done
until [ "$(psql -h 127.0.0.1 -p "$PORT" -U postgres -d extranet_pitr -Atqc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null)" = "t" ]; do sleep 0.2; done
t4=$(now)
recovered="$(psql_ "SELECT coalesce(max(n), 0) || ' ' || coalesce(extract(epoch FROM max(at)), 0) FROM pitr_marker")"
set -- $last_committed; lc_n=$1; lc_at=$2
set -- $recovered; rc_n=$1; rc_at=$2
echo "RTO: restore $(echo "$t3 - $t2" | bc) s + start and WAL replay $(echo "$t4 - $t3" | bc) s = $(echo "$t4 - $t2" | bc) s"
echo "RPO: newest committed row $lc_n, newest recovered row $rc_n: $((lc_n - rc_n)) rows lost = $(echo "$lc_at - $rc_at" | bc) s of writes"

# Point in time: back to TARGET.
pg_ctlcluster 15 "$CLUSTER" stop
t5=$(now)
su postgres -c "pgbackrest --config=$CONF --stanza=extranet --delta --type=time '--target=$TARGET' --target-action=promote restore" >/dev/null
pg_ctlcluster 15 "$CLUSTER" start
until [ "$(psql -h 127.0.0.1 -p "$PORT" -U postgres -d extranet_pitr -Atqc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null)" = "t" ]; do sleep 0.2; done
t6=$(now)
at_target="$(psql_ "SELECT max(n) FROM pitr_marker")"
echo "point in time ($TARGET): rows 1..$at_target present (expected $((WRITE_S / 2))), restored in $(echo "$t6 - $t5" | bc) s"
echo "load after: $(cat /proc/loadavg)"
