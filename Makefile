# collbench: the README's two commands are `make run` and `make test`. Both install the Debian
# packages they need first (scripts/install-deps.sh: a fast no-op when everything is there).
#
#   make run                    build (release, MPI) and run a real all-reduce sweep
#   make test                   every test: fmt, clippy, unit + integration, scripts, real Slurm
#   make install PREFIX=/opt/x  one stripped multi-call binary; its names (allreduce-perf,
#                               all_reduce_perf, ...) as links
#   make install PROFILE=release-debuginfo STRIP=true   the same with debug info
#   make uninstall PREFIX=/opt/x
#   make gpu-check              GPU checks (scripts/gpu-check.sh; needs a GPU machine)
#   make gpu-bundle             binaries + device test + gpu-check in .gpu/, to carry to a GPU machine
#   make cluster-up NODES=4     a local multi-node Slurm in network namespaces (docs/local-cluster.md)
#   make cluster-down           stop it (daemons by recorded PID, namespaces removed)
#   make deps | build           the steps on their own

PREFIX ?= /usr/local
CARGO ?= cargo
# MPI ranks (rsmpi) and the libfabric diagnostics (`collbench fabric`).
FEATURES ?= mpi,fabric
# Cargo profile of `make build`/`make install`: release (no debug info) or release-debuginfo.
PROFILE ?= release
# What install strips the binary with (STRIP=true keeps it as built).
STRIP ?= strip

.PHONY: run test install uninstall gpu-check gpu-bundle deps build cluster-up cluster-down

NODES ?= 4

deps:
	scripts/install-deps.sh

build: deps
	$(CARGO) build --profile $(PROFILE) --features $(FEATURES) --bins

run: build
	scripts/run-sweep.sh

test: deps
	scripts/test-all.sh

# Only the multi-call binary: every other name is a link to it.
install: deps
	$(CARGO) build --profile $(PROFILE) --features $(FEATURES) --bin collbench
	COLLBENCH_BIN_DIR="$(CURDIR)/target/$(PROFILE)" STRIP="$(STRIP)" scripts/install.sh "$(PREFIX)"

uninstall:
	scripts/install.sh --uninstall "$(PREFIX)"

# No build step: on the GPU machines there is no Rust toolchain (binaries are built elsewhere and
# carried) and no package mirror; scripts/gpu-check.sh finds the binaries itself.
gpu-check:
	@test -x scripts/gpu-check.sh || { echo "scripts/gpu-check.sh is missing: the GPU checks are not in this checkout" >&2; exit 1; }
	scripts/gpu-check.sh

# For GPU machines without a Rust toolchain: build here, copy .gpu/ there, run `make gpu-check` in it.
gpu-bundle: deps
	scripts/gpu-bundle.sh

# A real multi-node Slurm on this machine; run commands on it with scripts/cluster-exec.sh.
cluster-up: deps
	scripts/cluster-up.sh "$(NODES)"

cluster-down:
	scripts/cluster-down.sh
