# Guildhall — the two commands that matter are `make run` and `make test`.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BUF  := go tool -modfile=tools/buf/go.mod buf
SQLC := go tool -modfile=tools/go.mod sqlc
APILINTER := go tool -modfile=tools/apilinter/go.mod api-linter
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# The admin token `make run` starts with, and `make seed` (and `guildhall seed`) use by default.
DEV_ADMIN_TOKEN := dev-admin-token

.PHONY: run
run: ## run every service and the gateway locally; GUILDHALL_DATABASE_URL is used as is, else a local PostgreSQL is found or started; SEED=sme loads demo data
	@if [[ -z "$${GUILDHALL_DATABASE_URL:-}" ]]; then \
		export GUILDHALL_DATABASE_URL=$$(scripts/dev-postgres.sh guildhall); \
	fi; \
	go build -ldflags "-X main.version=$(VERSION)" -o bin/guildhall ./cmd/guildhall; \
	export GUILDHALL_BOOTSTRAP_ADMIN_TOKEN=$${GUILDHALL_BOOTSTRAP_ADMIN_TOKEN:-$(DEV_ADMIN_TOKEN)}; \
	exec bin/guildhall dev $(if $(SEED),--seed $(SEED))

.PHONY: seed
seed: ## load the SME Server demo data into a running `make run` (SET=sme)
	@go build -ldflags "-X main.version=$(VERSION)" -o bin/guildhall ./cmd/guildhall; \
	export GUILDHALL_BOOTSTRAP_ADMIN_TOKEN=$${GUILDHALL_BOOTSTRAP_ADMIN_TOKEN:-$(DEV_ADMIN_TOKEN)}; \
	exec bin/guildhall seed $(or $(SET),sme)

.PHONY: test
test: ## run every test against a real PostgreSQL (TEST_DATABASE_URL as is, or the local server); PGTEST_KEEP_FAILED=1 keeps failed tests' databases
	@export TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$$(scripts/dev-postgres.sh postgres)}; \
	go test -count=1 -race -timeout 30m ./...

.PHONY: build
build: ## build bin/guildhall
	go build -ldflags "-X main.version=$(VERSION)" -o bin/guildhall ./cmd/guildhall

BACKUP_DIR ?= backups/$(shell date -u +%Y%m%dT%H%M%SZ)

.PHONY: backup
backup: ## pg_dump every service's database into BACKUP_DIR (default backups/<UTC time>); see scripts/backup.sh
	scripts/backup.sh $(BACKUP_DIR)

.PHONY: restore
restore: ## restore BACKUP_DIR into fresh databases (GUILDHALL_*_DATABASE_URL); see scripts/restore.sh
	@test -n "$(filter command line environment,$(origin BACKUP_DIR))" || { echo "make restore needs BACKUP_DIR=<a backup directory>"; exit 1; }
	scripts/restore.sh $(BACKUP_DIR)

.PHONY: image
image: ## build the container image guildhall:local, stamped with this version
	docker build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) -t guildhall:local .

.PHONY: generate
generate: ## regenerate protobuf, gateway, OpenAPI and sqlc code
	$(BUF) generate
	go run ./scripts/openapi3 gen/openapi/guildhall.swagger.json gen/openapi/openapi.json
	@[ -d clients/typescript/node_modules ] || npm ci --prefix clients/typescript --no-audit --no-fund --loglevel=error
	cd clients/typescript && npx --no-install openapi-typescript ../../gen/openapi/openapi.json --output src/schema.d.ts --silent
	$(SQLC) generate

.PHONY: lint
lint: api-lint ## buf lint, Google's AIP linter, go vet and gofmt
	$(BUF) lint
	go vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: api-lint
api-lint: ## Google's AIP linter on the protos; deliberate departures are in api-linter.yaml
	$(APILINTER) -I proto -I third_party/proto --config api-linter.yaml --set-exit-status \
		--output-format=summary $$(cd proto && find guildhall -name '*.proto' | sort)

.PHONY: openapi-lint
openapi-lint: ## Redocly's recommended rules on the OpenAPI document (pinned in tools/web's lockfile)
	npm ci --prefix tools/web --no-audit --no-fund --loglevel=error
	cd tools/web && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		npx --no-install redocly lint --config redocly.yaml ../../gen/openapi/openapi.json

.PHONY: board
board: ## rebuild the reference board's committed assets (web/board/dist) from its lockfile
	@[ -d web/board/node_modules ] || npm ci --prefix web/board --no-audit --no-fund --loglevel=error
	npm run --prefix web/board --silent build -- --logLevel warn

.PHONY: check-generated
check-generated: generate board ## fail if generated code (and the board's build) differs from its sources
	@if [ -n "$$(git status --porcelain -- gen services proto clients/typescript/src web/board/dist)" ]; then \
		echo "generated code is out of date; run 'make generate' and 'make board', and commit:"; \
		git status --porcelain -- gen services proto clients/typescript/src web/board/dist; git diff --stat -- gen services clients web/board/dist; exit 1; \
	fi

.PHONY: bench
bench: ## run the load scripts under bench/ (see bench/README.md) and the Go benchmarks; BASE=<commit> also measures that commit's build side by side
	@export TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$$(scripts/dev-postgres.sh postgres)}; \
	GUILDHALL_BENCH=1 BENCH_BASE=$(BASE) go test -count=1 -v -timeout 40m -run 'TestWrite|TestInstructions' ./bench/write/ | grep -v '^    logger\|testdbconf'; \
	GUILDHALL_BENCH=1 go test -count=1 -v -timeout 40m -run 'TestLoad|TestRoadmapLatency' ./bench/... | grep -v '^    logger'; \
	bench/events/run.sh; \
	go test -run '^$$' -bench . -benchmem ./services/...

.PHONY: third-party
third-party: ## refresh the vendored .proto files and Swagger UI
	third_party/proto/refresh.sh
	third_party/swaggerui/refresh.sh
