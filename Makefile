# Two commands for a fresh Debian machine (see README.md):
#   make run    install what is missing, build, run `pagewalk demo`
#   make test   install what is missing, build, run every test suite
BUILD      ?= build
BUILD_SAN  ?= build-san
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)

.PHONY: all deps deps-test build static kmod install deb run test unit sanitize fuzz e2e bench clean

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# A static pagewalk to copy into a guest or a rescue system (used by the e2e suite).
static: deps
	@cmake -S . -B build-static -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPAGEWALK_STATIC=ON \
	  -DPAGEWALK_TESTS=OFF -DPAGEWALK_BENCH=OFF >/dev/null
	@cmake --build build-static -j $(JOBS) --target pagewalk

# The kernel module, against the running kernel's headers or KDIR=/usr/src/linux-headers-<release>.
kmod:
	@$(MAKE) --no-print-directory -C kmod $(if $(KDIR),KDIR=$(KDIR))

# The CLI, the library (headers, find_package, pkg-config) and the Python module under PREFIX.
PREFIX ?= /usr/local
install: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@cmake --install $(BUILD)

# The Debian package, built for /usr (build-deb/pagewalk_VERSION_ARCH.deb).
deb: deps
	@scripts/install-deps.sh deb
	@cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DPAGEWALK_TESTS=OFF \
	  -DPAGEWALK_BENCH=OFF >/dev/null
	@cmake --build build-deb -j $(JOBS)
	@cd build-deb && cpack -G DEB >/dev/null && ls -1 "$$PWD"/pagewalk_*.deb

run: build
	$(BUILD)/pagewalk demo

# Every suite; each stage prints its own summary and stops the run on failure.
test: deps deps-test
	@scripts/test.sh all

unit: deps deps-test
	@scripts/test.sh unit

sanitize: deps deps-test
	@scripts/test.sh sanitize

fuzz: deps deps-test
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/test.sh fuzz

e2e: deps deps-test
	@scripts/test.sh e2e

bench: build
	@scripts/bench.sh

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-fuzz build-static build-deb
	-@$(MAKE) --no-print-directory -C kmod clean >/dev/null 2>&1
