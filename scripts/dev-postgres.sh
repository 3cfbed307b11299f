#!/usr/bin/env bash
# Makes sure a PostgreSQL server is reachable for development, tests and CI, and prints on
# stdout one line: the URL of database DBNAME on it (the database itself need not exist:
# guildhall creates it). Progress and errors go to stderr.
#
#   scripts/dev-postgres.sh [DBNAME]   # default DBNAME: guildhall
#   scripts/dev-postgres.sh URL        # use this server as is: only check that it is up
#   PG_URL=postgres://u@host:5432 scripts/dev-postgres.sh [DBNAME]
#                                      # likewise, with the database in PG_URL replaced by DBNAME
#
# Without a URL it uses the local server on 127.0.0.1:${PGPORT:-5432}. On Debian/Ubuntu it
# starts the cluster if it is down, creates one if there is none, and installs PostgreSQL if
# it is missing and we are root; then it makes sure a role named after the OS user exists and
# can create databases, and prints a TCP URL, or a unix-socket one (?host=/var/run/postgresql)
# where TCP would need a password. It is idempotent and takes a fraction of a second when all
# is in place.
set -euo pipefail

PORT=${PGPORT:-5432}
SOCKET_DIR=/var/run/postgresql
WAIT_SECONDS=30
DB_USER=$(id -un)
[[ $DB_USER =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "dev-postgres: unusual user name '$DB_USER'" >&2; exit 1; }

log() { echo "dev-postgres: $*" >&2; }
die() { log "$*"; exit 1; }

# with_db URL DB: URL with its database path replaced by DB (query string kept).
with_db() {
  local url=$1 db=$2 query=""
  if [[ $url == *\?* ]]; then query="?${url#*\?}"; url=${url%%\?*}; fi
  local scheme=${url%%://*} rest=${url#*://}
  echo "${scheme}://${rest%%/*}/${db}${query}"
}

# wait_ready ARGS...: wait (bounded) until pg_isready ARGS succeeds.
wait_ready() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  until pg_isready -q -t 2 "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# ---- an explicit server: check it and print it ---------------------------------------------
url=""
db=${1:-guildhall}
if [[ $db == postgres://* || $db == postgresql://* ]]; then
  url=$db
elif [[ -n ${PG_URL:-} ]]; then
  url=$PG_URL
  if [[ $# -gt 0 ]]; then url=$(with_db "$PG_URL" "$db"); fi
fi
if [[ -n $url ]]; then
  if command -v pg_isready >/dev/null; then
    wait_ready -d "$url" || die "PostgreSQL at the given URL is not accepting connections (waited ${WAIT_SECONDS}s)"
  else
    log "pg_isready not installed: not checking the given URL"
  fi
  echo "$url"
  exit 0
fi

[[ $db =~ ^[A-Za-z0-9_-]+$ ]] || die "database name '$db' should be letters, digits, _ or -"

# ---- the local server: make sure it runs --------------------------------------------------
local_ready() { command -v pg_isready >/dev/null && pg_isready -q -t 2 -h 127.0.0.1 -p "$PORT"; }

if ! local_ready; then
  if ! command -v pg_ctlcluster >/dev/null; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
      log "PostgreSQL is not installed: installing it with apt-get"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq postgresql >&2
    else
      die "no PostgreSQL on 127.0.0.1:$PORT, and Debian's postgresql-common is not installed.
  Install and start PostgreSQL, e.g.:
    Debian/Ubuntu:  sudo apt-get install postgresql   (then run this script again)
    macOS:          brew install postgresql@15 && brew services start postgresql@15
  or point to a server you have:  PG_URL=postgres://USER@HOST:5432 $0"
    fi
  fi

  [[ $EUID -eq 0 ]] || die "PostgreSQL is installed but not running on 127.0.0.1:$PORT; start it, e.g.:
    sudo pg_ctlcluster --skip-systemctl-redirect <version> main start   (see pg_lsclusters)"

  # Pick the cluster on $PORT, else the newest one; create one if there is none.
  cluster=$(pg_lsclusters -h | awk -v p="$PORT" '$3 == p { print $1, $2, $3, $4; exit }')
  [[ -n $cluster ]] || cluster=$(pg_lsclusters -h | sort -V | awk 'END { if (NR) print $1, $2, $3, $4 }')
  if [[ -z $cluster ]]; then
    # shellcheck disable=SC2012 # version directories are plain numbers
    version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n $version ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
    log "no PostgreSQL cluster: creating $version/main"
    pg_createcluster "$version" main --port "$PORT" >&2
    cluster=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $1, $2, $3, $4 }')
  fi
  read -r version name PORT status <<<"$cluster"
  if [[ $status != online* ]]; then
    log "starting PostgreSQL cluster $version/$name on port $PORT"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start >&2
  fi
  wait_ready -h 127.0.0.1 -p "$PORT" || wait_ready -h "$SOCKET_DIR" -p "$PORT" ||
    die "PostgreSQL $version/$name did not become ready within ${WAIT_SECONDS}s; see /var/log/postgresql/"
fi

# ---- a role for this OS user that can create databases, and how to reach it ----------------
# can_create_db HOST: prints t or f when $DB_USER can log in over HOST, fails when it cannot.
can_create_db() {
  psql -w -X -A -t -q \
    "host=$1 port=$PORT dbname=postgres user=$DB_USER sslmode=disable connect_timeout=5" \
    -c "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user" 2>/dev/null
}
# connect: sets url to the first way in (TCP, then the unix socket) where $DB_USER can create
# databases; fails if there is none.
connect() {
  if [[ $(can_create_db 127.0.0.1) == t ]]; then
    url="postgres://$DB_USER@127.0.0.1:$PORT/$db?sslmode=disable"
  elif [[ -d $SOCKET_DIR && $(can_create_db "$SOCKET_DIR") == t ]]; then
    url="postgres://$DB_USER@/$db?host=$SOCKET_DIR&port=$PORT&sslmode=disable"
  else
    return 1
  fi
}

command -v psql >/dev/null || die "psql not found: install the PostgreSQL client (Debian: apt-get install postgresql-client)"
if ! connect; then
  if [[ $EUID -ne 0 ]]; then
    die "role '$DB_USER' cannot log in to PostgreSQL on port $PORT without a password, or cannot create databases.
  Create it, e.g.:  sudo -u postgres createuser --superuser $DB_USER
  or point to a server you have:  PG_URL=postgres://USER:PASSWORD@HOST:$PORT $0"
  fi
  log "creating or updating PostgreSQL role $DB_USER (superuser)"
  as_postgres() {
    if command -v runuser >/dev/null; then runuser -u postgres -- "$@"; else su -s /bin/sh postgres -c "$(printf '%q ' "$@")"; fi
  }
  sql="DO \$\$ BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN ALTER ROLE \"$DB_USER\" SUPERUSER LOGIN;
    ELSE CREATE ROLE \"$DB_USER\" SUPERUSER LOGIN; END IF; END \$\$"
  (cd / && as_postgres psql -X -q -p "$PORT" -d postgres -c "$sql") >&2 ||
    die "could not create role $DB_USER as the postgres OS user"
  connect || die "role $DB_USER exists but cannot connect over 127.0.0.1:$PORT or $SOCKET_DIR without a password; check pg_hba.conf"
fi
echo "$url"
