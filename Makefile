# Keydesk. `make help` lists the targets.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO      ?= go

.PHONY: help run build test fuzz generate bench gobench screenshots fmt

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: build ## build and start a demo server on http://127.0.0.1:8080 (./data/keydesk.db)
	./bin/keydesk serve --demo --db ./data/keydesk.db

build: ## build bin/keydesk
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/keydesk ./cmd/keydesk

CHROME := $(or $(KEYDESK_CHROME),$(shell command -v chromium chromium-browser google-chrome 2>/dev/null | head -n 1))
PG_BIN := $(or $(shell command -v initdb 2>/dev/null),$(wildcard /usr/lib/postgresql/*/bin/initdb))
NGINX  := $(or $(shell command -v nginx 2>/dev/null),$(wildcard /usr/sbin/nginx))

# The browser tests (e2e) run after the others, on their own: beside the
# crash and load tests on two cores, their timing would be the machine's.
# The handler and browser suites run twice, on SQLite and then on PostgreSQL
# (KEYDESK_TEST_STORE=postgres: store/pgtest starts a throw-away server, or
# uses KEYDESK_TEST_POSTGRES); without PostgreSQL those runs skip, loudly,
# except under CI, where they fail.
test: ## run every test: unit, store, handler and browser (Chromium), the last two on SQLite and PostgreSQL, then a short fuzz of the key parser and of every form
	@if [ -z "$(CHROME)" ]; then \
		echo "*** WARNING: no Chromium found: the browser tests in e2e/ will be SKIPPED. ***"; \
		echo "*** Install it (apt-get install chromium) or set KEYDESK_CHROME.           ***"; \
	fi
	@if [ -z "$$KEYDESK_TEST_POSTGRES" ] && [ -z "$(PG_BIN)" ]; then \
		echo "*** WARNING: no PostgreSQL server binaries: the PostgreSQL store tests and the     ***"; \
		echo "*** PostgreSQL runs of the handler and browser suites will be SKIPPED.             ***"; \
		echo "*** Install them (apt-get install postgresql) or set KEYDESK_TEST_POSTGRES.        ***"; \
	fi
	@if [ -z "$(NGINX)" ]; then \
		echo "*** WARNING: no nginx: the test of the README's nginx config will be SKIPPED. ***"; \
		echo "*** Install it (apt-get install nginx).                                      ***"; \
	fi
	$(GO) vet ./...
	KEYDESK_TEST_STORE=sqlite $(GO) test -count=1 -timeout 15m $$($(GO) list ./... | grep -v /e2e)
	KEYDESK_TEST_STORE=postgres $(GO) test -count=1 -timeout 15m ./handlers
	KEYDESK_TEST_STORE=sqlite $(GO) test -count=1 -timeout 10m ./e2e
	KEYDESK_TEST_STORE=postgres $(GO) test -count=1 -timeout 10m ./e2e
	$(GO) test -run '^$$' -fuzz '^FuzzParseKey$$' -fuzztime $(PARSE_FUZZ_RUNS)x ./store
	@for f in $(FORM_FUZZ); do $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FORM_FUZZ_RUNS)x ./handlers || exit 1; done

# The fuzz targets of handlers/fuzz_test.go, one per POST route (go fuzzes one
# target per run).
FORM_FUZZ := FuzzLogin FuzzSignup FuzzLogout FuzzUpdateName FuzzChangePassword FuzzRevokeOtherSessions \
	FuzzCreateKey FuzzSetKeyStatus FuzzEditKey FuzzDeleteKey FuzzAdminSetKeyStatus FuzzAdminBulkDisable \
	FuzzAdminSetKYC FuzzAdminSetDisabled FuzzAdminSetRole \
	FuzzRegenerateKey FuzzEndOverlap FuzzVerifyKey

# make test fuzzes for a number of executions, never for a wall-clock time:
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when a -fuzztime in seconds runs out on a busy machine
# (golang/go#75804, fixed in Go 1.27). The counts keep each target to a few
# seconds here: the key parser is cheap, a form post goes through the whole
# router (the ones that hash a password are rarely reached with a valid pair).
PARSE_FUZZ_RUNS ?= 20000
FORM_FUZZ_RUNS  ?= 500

# FUZZTIME is how long `make fuzz` fuzzes each form handler (handlers/fuzz_test.go,
# one target per POST route; go fuzzes one target per run). `make fuzz` is for
# long runs by hand, where golang/go#75804 costs at worst a rerun.
FUZZTIME ?= 10s

fuzz: ## fuzz the API key parser for a minute, then each form handler for FUZZTIME (10s)
	$(GO) test -run '^$$' -fuzz '^FuzzParseKey$$' -fuzztime 60s ./store
	@for f in $(FORM_FUZZ); do $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) ./handlers || exit 1; done

generate: ## regenerate the templ components (*_templ.go)
	$(GO) tool templ generate

bench: build ## load-test the real server over loopback (about eight minutes) and write docs/BENCHMARKS.md
	$(GO) run ./cmd/loadbench -bin bin/keydesk -out docs/BENCHMARKS.md

gobench: ## run the in-process Go micro-benchmarks (go test -bench)
	$(GO) test -run '^$$' -bench . -benchmem ./...

screenshots: ## photograph every page (desktop and phone, light and dark) into docs/screenshots
	$(GO) run ./cmd/screenshots -out docs/screenshots

fmt: ## format the Go and templ sources
	gofmt -w $$(git ls-files '*.go')
	$(GO) tool templ fmt views
