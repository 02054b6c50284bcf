# ngx_http_proxy_wasm_module: a Proxy-Wasm host for nginx and OpenResty.
# `make help` lists the targets. Everything runs from a fresh Debian 12 machine: `make test` and `make run`
# install what is missing first (`make deps`).

SHELL := /bin/bash
.DEFAULT_GOAL := help

NGINX_BINARY  ?= /usr/sbin/nginx
NGINX_SRC     ?= /usr/share/nginx/src
NGINX_OBJS    := build/nginx-objs
MODULE        := target/release/libngx_http_proxy_wasm_module.so
RUNNER        := target/release/test-nginx
MODULES_DIR   := /usr/share/nginx/modules
DEBIAN_PKGS   := nginx nginx-dev libnginx-mod-http-lua libnginx-mod-http-ndk lua-resty-core \
                 lua-resty-lrucache lua-cjson lua-yaml libclang-dev clang wrk curl \
                 clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 libjsmn-dev valgrind \
                 libpcre3-dev libssl-dev zlib1g-dev libluajit2-5.1-dev dpkg-dev python3-grpcio dnsmasq-base \
                 gpgv xz-utils
AS_DIR        := t/plugins/fault_injection_as
C_DIR         := t/plugins/fault_injection_c
# Go 1.24 from Debian 13's packages, unpacked into build/go (.ci/go.sh), for the plugin in standard Go.
GO_DIR        := build/go
GO            := $(GO_DIR)/usr/lib/go-1.24/bin/go
GO_ENV        := GOROOT=$(CURDIR)/$(GO_DIR)/usr/lib/go-1.24 GOTOOLCHAIN=local GOFLAGS= GOPROXY=off \
                 GOCACHE=$(CURDIR)/build/go-cache GOPATH=$(CURDIR)/build/go-path GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0
WASI_CC       := clang-14 --target=wasm32-wasi -O2 -mexec-model=reactor -Wall -Wextra -Werror -Wl,--strip-debug
SUDO          := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LOAD_MODULES  := $(MODULES_DIR)/ndk_http_module.so $(MODULES_DIR)/ngx_http_lua_module.so $(CURDIR)/$(MODULE)
# The second nginx of the test run (.ci/nginx-1.28.sh): 1.28.3 from the crates.io crate nginx-src, with the lua
# module and ndk from Debian's source packages; this module built for it in a cargo target directory of its own.
NGINX_128_CRATE := 1.28.5
NGINX_128_DIR := $(CURDIR)/build/nginx-1.28
NGINX_128     := $(NGINX_128_DIR)/objs/nginx
MODULE_128    := target/nginx-1.28/release/libngx_http_proxy_wasm_module.so
ENV_128       := CARGO_TARGET_DIR=target/nginx-1.28 NGINX_SOURCE_DIR=$(NGINX_128_DIR)/src \
                 NGINX_BUILD_DIR=$(NGINX_128_DIR)/objs NGINX_BINARY=$(NGINX_128)
LOAD_MODULES_128 := $(NGINX_128_DIR)/objs/ndk_http_module.so $(NGINX_128_DIR)/objs/ngx_http_lua_module.so \
                 $(CURDIR)/$(MODULE_128)
DEB_DIR       := build/deb

# $(call check_signature,NGINX,MODULE): fail (and remove MODULE) unless its module signature is NGINX's.
define check_signature
	@want=$$(grep -aoE '[0-9]+,[0-9]+,[0-9]+,[01]{30,}' $(1) | head -1); \
	got=$$(grep -aoE '[0-9]+,[0-9]+,[0-9]+,[01]{30,}' $(2) | head -1); \
	if [ "$$want" != "$$got" ]; then \
	    echo "error: module signature $$got differs from $(1)'s $$want: it would not load." >&2; \
	    echo "       Rebuild against that nginx's configured tree (NGINX_SOURCE_DIR/NGINX_BUILD_DIR)." >&2; \
	    rm -f $(2); exit 1; \
	fi
endef

.PHONY: help deps configure build plugins test test-unit test-reload test-kill test-panic test-grpc test-resolver test-cache test-nginx run bench profile lint clean fuzz memcheck soak

help: ## list the targets
	@grep -E '^[a-z0-9.-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

deps: ## install what a fresh Debian 12 lacks (apt packages, the wasm32-wasip1 target); quiet when all is there
	@missing=$$(for p in $(DEBIAN_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
	@# nginx 1.28's lua module and ndk come from Debian's source packages (apt-get source): a deb-src entry for
	@# bookworm main, signed by the keyring of the existing Debian source.
	@grep -rqsE '^(Types:.*\bdeb-src\b|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/ || { \
	    src=/etc/apt/sources.list.d/debian.sources; \
	    uri=$$(sed -n 's/^URIs: *//p' $$src 2>/dev/null | head -1); \
	    key=$$(sed -n 's/^Signed-By: *//p' $$src 2>/dev/null | head -1); \
	    echo "adding a deb-src entry for bookworm main (/etc/apt/sources.list.d/debian-src.sources)"; \
	    printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: %s\n' \
	        "$${uri:-http://deb.debian.org/debian}" "$${key:-/usr/share/keyrings/debian-archive-keyring.gpg}" \
	        | $(SUDO) tee /etc/apt/sources.list.d/debian-src.sources >/dev/null && $(SUDO) apt-get update -qq; }

configure: $(NGINX_OBJS)/ngx_auto_config.h ## configure Debian's nginx headers out of tree (build/nginx-objs)

$(NGINX_OBJS)/ngx_auto_config.h:
	@mkdir -p $(NGINX_OBJS)
	cd $(NGINX_SRC) && . ./conf_flags && ./configure "$${NGX_CONF_FLAGS[@]}" --builddir=$(CURDIR)/$(NGINX_OBJS) >/dev/null

build: deps configure ## build the nginx module (release) and check it loads into $(NGINX_BINARY)
	NGINX_BINARY=$(NGINX_BINARY) cargo build --release --workspace
	$(call check_signature,$(NGINX_BINARY),$(MODULE))

plugins: deps t/plugins/fault_injection_as.wasm t/plugins/hostile_as.wasm t/plugins/fault_injection_c.wasm t/plugins/go_plugin.wasm ## build the test plugins under t/plugins (Rust, AssemblyScript, C, Go)
	cd t/plugins/fault_injection && cargo build --release --target wasm32-wasip1 -q
	cp t/plugins/fault_injection/target/wasm32-wasip1/release/fault_injection.wasm t/plugins/
	cd t/plugins/hostcalls && cargo build --release --target wasm32-wasip1 -q
	cp t/plugins/hostcalls/target/wasm32-wasip1/release/hostcalls.wasm t/plugins/
	cd t/plugins/shared_state && cargo build --release --target wasm32-wasip1 -q
	cp t/plugins/shared_state/target/wasm32-wasip1/release/shared_state.wasm t/plugins/
	cd t/plugins/hostile && cargo build --release --target wasm32-wasip1 -q
	cp t/plugins/hostile/target/wasm32-wasip1/release/hostile.wasm t/plugins/
	cd t/plugins/auth_call && cargo build --release --target wasm32-wasip1 -q
	cp t/plugins/auth_call/target/wasm32-wasip1/release/auth_call.wasm t/plugins/
	cd t/plugins/grpc_call && cargo build --release --target wasm32-wasip1 -q
	cp t/plugins/grpc_call/target/wasm32-wasip1/release/grpc_call.wasm t/plugins/

$(AS_DIR)/node_modules/.installed: $(AS_DIR)/package.json $(AS_DIR)/package-lock.json | deps
	cd $(AS_DIR) && npm ci --silent --no-audit --no-fund && touch node_modules/.installed

# asc prints one harmless warning from its standard library on every build: show its output only on failure.
t/plugins/fault_injection_as.wasm: $(AS_DIR)/node_modules/.installed $(filter-out %/hostile.ts,$(wildcard $(AS_DIR)/assembly/*.ts))
	@cd $(AS_DIR) && out=$$(npm run -s build 2>&1) || { echo "$$out" >&2; exit 1; }

t/plugins/hostile_as.wasm: $(AS_DIR)/node_modules/.installed $(AS_DIR)/assembly/hostile.ts
	@cd $(AS_DIR) && out=$$(npm run -s build:hostile 2>&1) || { echo "$$out" >&2; exit 1; }

t/plugins/fault_injection_c.wasm: $(wildcard $(C_DIR)/*.c $(C_DIR)/*.h) | deps
	@$(WASI_CC) -o $@ $(C_DIR)/*.c

$(GO): | deps
	OUT=$(GO_DIR) .ci/go.sh

t/plugins/go_plugin.wasm: t/plugins/go_plugin/main.go t/plugins/go_plugin/go.mod | $(GO)
	cd t/plugins/go_plugin && $(GO_ENV) $(CURDIR)/$(GO) build -buildmode=c-shared -trimpath -o $(CURDIR)/$@ .

test: lint build plugins test-unit test-reload test-kill test-panic test-grpc test-resolver test-cache memcheck test-nginx lint-1.28 test-1.28 test-deb ## everything: fmt and clippy, cargo tests, reload and killed workers under traffic, panic guards, valgrind run, every .t suite; then every suite on nginx 1.28 and the Debian package

SOAK_REQUESTS ?= 100000
soak: build plugins ## SOAK_REQUESTS (default 100000) requests through a plugin that panics on every one, failure policy closed then open: the worker never changes, every answer is 500 / 200 (not part of make test)
	SOAK_REQUESTS=$(SOAK_REQUESTS) t/soak/run.sh

memcheck: build plugins ## nginx with the module under valgrind while requests take every directive path (slow)
	t/memcheck/run.sh

FUZZ_SECONDS ?= 300
fuzz: ## fuzz loops of the host core for FUZZ_SECONDS each (default 300): host-call sequences, the map codec
	FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test --release -p proxy-wasm-host --test call_fuzz --test map_fuzz -- --nocapture

test-unit: ## cargo tests of the host core and the runner (release profile: reuses the build's wasmtime)
	cargo test --release --workspace -q 2>&1 | grep -vE '^(running 0 tests|test result: ok. 0 passed.*|)$$'; exit $${PIPESTATUS[0]}

test-reload: ## HUP reloads under wrk traffic change a plugin's configuration with no failed request
	t/reload/run.sh

test-panic: ## one module entry point of each kind made to panic: nginx -t fails cleanly, workers survive
	t/panic/run.sh

test-grpc: ## unary gRPC calls to a real gRPC server (grpcio) on both entrances: a reply, a status, a cancel, the server gone
	t/grpc/run.sh

test-resolver: ## HTTP calls to host names through nginx's resolver (Debian's dnsmasq answers them) on both entrances
	t/resolver/run.sh

test-cache: ## compiled code kept on disk (proxy_wasm_cache): miss, hit, a corrupted entry, a changed plugin, nginx -t cold/warm times
	t/cache/run.sh

test-kill: ## workers killed with SIGKILL under wrk traffic: the others keep answering, a shared counter matches its metric
	t/kill/run.sh

test-nginx: ## every .t suite through the project's runner: t/*.t with the lua module, t/directives/ without
	@mkdir -p build/demo/logs
	$(NGINX_BINARY) -t -q -p $(CURDIR)/build/demo/ -c $(CURDIR)/nginx-conf/demo.conf -e $(CURDIR)/build/demo/logs/error.log
	TEST_NGINX_BINARY=$(NGINX_BINARY) TEST_NGINX_LOAD_MODULES="$(LOAD_MODULES)" $(RUNNER) --jobs 2 t/*.t
	TEST_NGINX_BINARY=$(NGINX_BINARY) TEST_NGINX_LOAD_MODULES="$(CURDIR)/$(MODULE)" $(RUNNER) --jobs 2 t/directives

.PHONY: nginx-1.28 build-1.28 lint-1.28 test-1.28 deb test-deb

nginx-1.28: $(NGINX_128_DIR)/.built ## nginx 1.28.3 (crate nginx-src) with the lua module and ndk (Debian sources) in build/nginx-1.28, built once

$(NGINX_128_DIR)/.built: | deps
	OUT=$(NGINX_128_DIR) NGINX_SRC_CRATE_VERSION=$(NGINX_128_CRATE) .ci/nginx-1.28.sh
	@touch $@

build-1.28: deps nginx-1.28 ## the module for nginx 1.28 (target/nginx-1.28), checked to load into it
	$(ENV_128) cargo build --release -p ngx_http_proxy_wasm_module
	$(call check_signature,$(NGINX_128),$(MODULE_128))

lint-1.28: deps nginx-1.28 ## clippy -D warnings against nginx 1.28's headers (the cfg branches for nginx >= 1.23)
	$(ENV_128) cargo clippy --release -p ngx_http_proxy_wasm_module --all-targets -- -D warnings

test-1.28: build build-1.28 plugins ## every .t suite on nginx 1.28 (t/*.t with its lua module, t/directives/ without) and the gRPC calls
	TEST_NGINX_BINARY=$(NGINX_128) TEST_NGINX_LOAD_MODULES="$(LOAD_MODULES_128)" $(RUNNER) --jobs 2 t/*.t
	TEST_NGINX_BINARY=$(NGINX_128) TEST_NGINX_LOAD_MODULES="$(CURDIR)/$(MODULE_128)" $(RUNNER) --jobs 2 t/directives
	NGINX_BINARY=$(NGINX_128) MODULES_DIR=$(NGINX_128_DIR)/objs MODULE=$(CURDIR)/$(MODULE_128) t/grpc/run.sh

deb: build ## the Debian package of the module for Debian's nginx: build/deb/libnginx-mod-http-proxy-wasm_<version>_<arch>.deb
	OUT=$(DEB_DIR) MODULE=$(MODULE) NGINX_BINARY=$(NGINX_BINARY) .ci/deb.sh

test-deb: deb plugins ## install the package, serve a plugin through Debian's stock nginx.conf plus one site, remove it
	$(SUDO) t/deb/run.sh $(DEB_DIR)

run: build plugins ## run the demo: nginx in the foreground with the fault-injection plugin on 127.0.0.1:9080
	@mkdir -p build/demo/logs
	@echo "try:  curl -i 127.0.0.1:9080/wasm             (200 hello world, Wasm through the APISIX-style runner)"
	@echo "      curl -i 127.0.0.1:9080/fault-injection  (200 hello world, the native Lua plugin)"
	@echo "      curl -i 127.0.0.1:9080/wasm-as  /wasm-c  (the same plugin in AssemblyScript and C)"
	@echo "      curl -i 127.0.0.1:9080/wasm-403         (403 with the plugin's body)"
	@echo "      curl -i 127.0.0.1:9080/wasm-directive   (200 hello world, nginx.conf directives, no Lua)"
	@echo "stop with Ctrl-C"
	$(NGINX_BINARY) -p $(CURDIR)/build/demo/ -c $(CURDIR)/nginx-conf/demo.conf -g 'daemon off;' \
	    -e $(CURDIR)/build/demo/logs/error.log

bench: build plugins ## host-core micro-benchmarks, the side-by-side wrk benchmark (build/bench/results.md, .svg), instructions per request with callgrind (build/bench/instructions.md)
	@mkdir -p build/bench
	cargo bench -q -p proxy-wasm-host --bench hot_path | tee build/bench/host.txt
	python3 t/bench/bench.py
	python3 t/bench/callgrind.py

profile: build plugins ## worker CPU per request split by component (kernel, nginx, lua, host, guest) with perf
	python3 t/bench/profile.py

lint: deps configure ## cargo fmt --check and clippy -D warnings
	cargo fmt --all --check
	cargo clippy --release --workspace --all-targets -- -D warnings

clean: ## remove build outputs and test servroots
	cargo clean
	rm -rf build t/servroot* t/plugins/*.wasm t/plugins/*/target $(AS_DIR)/node_modules
