#!/usr/bin/env bash
# Events and webhooks under load, as the issue checks them: ten real
# processes (two of each service and gateway), a webhook receiver that
# verifies every signature, concurrent mixed writes, one events replica
# killed with SIGKILL mid-run and the receiver failing for 30 s.
# Prints events/s sustained into the log, delivery p50/p99 from commit to
# receiver, and how long the backlog took to clear after the outage.
#
#   bench/events/run.sh            # OUTAGE=30s WRITES=4000 WRITERS=16
set -euo pipefail
cd "$(dirname "$0")/../.."
export TEST_DATABASE_URL=${TEST_DATABASE_URL:-$(scripts/dev-postgres.sh postgres)}
go test -count=1 -v -timeout 20m -run 'TestReplicas/events' ./test/replicas \
	-events.outage="${OUTAGE:-30s}" -events.writes="${WRITES:-4000}" -events.writers="${WRITERS:-16}" |
	grep -E "events_test.go|^(---|ok|FAIL|PASS)|Error|error|\.go:[0-9]+:"
