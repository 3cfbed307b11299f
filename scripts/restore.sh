#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into fresh databases: each service's schema into
# GUILDHALL_<SERVICE>_DATABASE_URL, else GUILDHALL_DATABASE_URL (as the binary reads them).
#
#   scripts/restore.sh DIR
#   make restore BACKUP_DIR=DIR
#
# A database that does not exist is created. One whose schema already exists is refused, and
# nothing is changed: restore into new databases, check them, then point Guildhall at them.
# Each service is restored in one transaction, so a failure leaves its database as it was.
# The dumps are checked against DIR/MANIFEST first.
# PG_RESTORE and PSQL override the commands (e.g. "docker compose … exec -T postgres pg_restore").
set -euo pipefail

dir=${1:?usage: scripts/restore.sh DIR}
PG_RESTORE=${PG_RESTORE:-pg_restore}
PSQL=${PSQL:-psql}
default_url=${GUILDHALL_DATABASE_URL:-postgres://localhost:5432/guildhall?sslmode=disable}

die() { echo "restore: $*" >&2; exit 1; }

# with_db URL DB: URL with its database path replaced by DB (query string kept).
with_db() {
  local url=$1 db=$2 query=""
  if [[ $url == *\?* ]]; then query="?${url#*\?}"; url=${url%%\?*}; fi
  local scheme=${url%%://*} rest=${url#*://}
  echo "${scheme}://${rest%%/*}/${db}${query}"
}

db_name() {
  local url=${1%%\?*}
  echo "${url##*/}"
}

[[ -f $dir/MANIFEST ]] || die "$dir/MANIFEST missing: not a backup made by scripts/backup.sh"
(cd "$dir" && grep -v '^#' MANIFEST | sha256sum --check --quiet) || die "dumps in $dir do not match MANIFEST"

# Check every target before touching any.
declare -A urls
for svc in membership roadmap finance; do
  [[ -f $dir/$svc.dump ]] || die "$dir/$svc.dump missing"
  var="GUILDHALL_${svc^^}_DATABASE_URL"
  url=${!var:-$default_url}
  urls[$svc]=$url
  if ! $PSQL "$url" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    db=$(db_name "$url")
    [[ $db =~ ^[A-Za-z0-9_]+$ ]] || die "cannot create database '$db': unusual name"
    $PSQL "$(with_db "$url" postgres)" -Atqc "CREATE DATABASE \"$db\"" >/dev/null ||
      die "cannot reach or create the $svc database $(with_db "$url" "$db" | sed 's#//[^@/]*@#//#')"
  fi
  if [[ -n $($PSQL "$url" -Atqc "SELECT 1 FROM pg_namespace WHERE nspname = '$svc'") ]]; then
    die "the $svc database already has a $svc schema; restore into a fresh database"
  fi
done

for svc in membership roadmap finance; do
  $PG_RESTORE --exit-on-error --single-transaction --no-owner --no-privileges \
    --dbname="${urls[$svc]}" <"$dir/$svc.dump"
  echo "restore: $svc restored" >&2
done
