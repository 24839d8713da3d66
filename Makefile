# Keydesk. `make help` lists the targets.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO      ?= go

.PHONY: help run build test generate bench screenshots fmt vet

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: build ## build and start a demo server on http://127.0.0.1:8080 (./data/keydesk.db)
	./bin/keydesk serve --demo --db ./data/keydesk.db

build: ## build bin/keydesk
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/keydesk ./cmd/keydesk

test: ## run every test: unit, store, handler and browser (Chromium)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

generate: ## regenerate the templ components (*_templ.go)
	$(GO) tool templ generate

bench: ## run the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

fmt: ## format the Go and templ sources
	gofmt -w $$(git ls-files '*.go')
	$(GO) tool templ fmt views
