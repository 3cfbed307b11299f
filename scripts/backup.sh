#!/usr/bin/env bash
# Backs up Guildhall: one pg_dump per service, of that service's schema in its own database,
# in pg_dump's custom format (compressed; pg_restore can restore it selectively).
#
#   scripts/backup.sh DIR          # writes DIR/membership.dump, roadmap.dump, finance.dump, MANIFEST
#   make backup [BACKUP_DIR=DIR]   # the same, into backups/<UTC time> by default
#
# Each service's database is GUILDHALL_<SERVICE>_DATABASE_URL, else GUILDHALL_DATABASE_URL (dev
# keeps every service in one database, each in its own schema), as the binary reads them.
# PG_DUMP overrides the pg_dump command, e.g. to run it inside the compose PostgreSQL container:
#   PG_DUMP="docker compose -f deploy/docker-compose.yml exec -T postgres pg_dump" \
#   GUILDHALL_MEMBERSHIP_DATABASE_URL=postgres://guildhall@/membership … scripts/backup.sh DIR
#
# Each dump is a consistent snapshot of its database. The three are taken one after the other;
# services reference each other only by name (people/jane), so a change landing between two
# dumps leaves at most a reference to something made a moment later, never a broken ledger.
set -euo pipefail

dir=${1:?usage: scripts/backup.sh DIR}
PG_DUMP=${PG_DUMP:-pg_dump}
default_url=${GUILDHALL_DATABASE_URL:-postgres://localhost:5432/guildhall?sslmode=disable}

mkdir -p "$dir"
manifest="$dir/MANIFEST"
{
  echo "# Guildhall backup, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# restore: scripts/restore.sh $dir"
} >"$manifest.tmp"
for svc in membership roadmap finance; do
  var="GUILDHALL_${svc^^}_DATABASE_URL"
  url=${!var:-$default_url}
  out="$dir/$svc.dump"
  # Written to a temporary name first, so a failed dump never looks like a good one.
  $PG_DUMP --format=custom --schema="$svc" --no-owner --no-privileges --dbname="$url" >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "$(sha256sum "$out" | cut -d' ' -f1)  $svc.dump" >>"$manifest.tmp"
  echo "backup: $svc -> $out ($(du -h "$out" | cut -f1))" >&2
done
mv "$manifest.tmp" "$manifest"
