# The two commands: `make run-qemu-virt` and `make test`. Both install what is missing first.
SHELL := /bin/bash
HOST := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
MACHINE ?= machines/qemu-virt.ron
# hv is built for MACHINE's architecture (its board's `arch`).
HV_TARGET = $(shell scripts/hv-target $(MACHINE))
HV_ELF = target/$(HV_TARGET)/release/hv
HVGEN := target/$(HOST)/release/hvgen
HOST_CRATES := -p codegen -p hv-macros -p hv-mmio -p hv-types -p hv-devices -p hv-fuzz

.PHONY: setup guests build hvgen run debug run-qemu-virt run-qemu-virt-riscv64 run-linux run-linux-riscv64 check test test-host test-qemu bench fuzz lint fmt clean

setup:
	@scripts/setup

## Real guests (Debian's kernel, busybox, U-Boot), fetched once when MACHINE uses them.
guests:
	@if grep -q 'guests/linux/out/' $(MACHINE); then guests/linux/fetch; fi
	@if grep -q 'guests/linux/out-riscv64/' $(MACHINE); then guests/linux/fetch riscv64; fi

build: setup guests
	HV_MACHINE=$(MACHINE) cargo build --release --target $(HV_TARGET)

hvgen:
	cargo build --release -q -p codegen --bin hvgen --target $(HOST)

## Boot MACHINE (a .ron) on QEMU; exits with the status the hypervisor reports.
run: build hvgen
	$(HVGEN) run $(MACHINE) $(HV_ELF)

## Boot MACHINE halted under QEMU's gdb stub, with gdb-multiarch knowing hv's and every guest
## crate's symbols; GDB_ARGS go to gdb (-batch -ex ... for a script). See docs/debugging.md.
debug: build hvgen
	@scripts/debug $(MACHINE) $(HV_ELF) $(GDB_ARGS)

run-qemu-virt:
	@$(MAKE) --no-print-directory run MACHINE=machines/qemu-virt.ron

## hv in HS-mode on QEMU's riscv64 virt board (OpenSBI as the firmware); see docs/riscv64.md.
run-qemu-virt-riscv64:
	@$(MAKE) --no-print-directory run MACHINE=machines/qemu-virt-riscv64.ron

## Debian's Linux on 2 vCPUs (GICv3) to a busybox shell on the console; see docs/guests.md.
run-linux:
	@$(MAKE) --no-print-directory run MACHINE=machines/qemu-virt-linux.ron

## Debian 13's riscv64 Linux on 2 vCPUs to a busybox shell; see docs/riscv64.md.
run-linux-riscv64:
	@$(MAKE) --no-print-directory run MACHINE=machines/qemu-virt-riscv64-linux.ron

## Validate MACHINE and print its memory map and routes.
check: setup hvgen guests
	$(HVGEN) check $(MACHINE)

test: setup lint test-host test-qemu

test-host:
	cargo test --target $(HOST) $(HOST_CRATES) -p hv
	# The core's channel and management logic needs a machine with channels.
	HV_MACHINE=machines/test-channels.ron cargo test --target $(HOST) -p hv --lib -- channel manage

test-qemu: hvgen
	scripts/qemu-tests

## The fuzz targets of the guest-facing logic (make test runs a short smoke of each): decoding,
## data aborts, injection, call dispatch, the vPL011, the vGIC from two vCPUs. An optimised build
## with overflow checks on; prints executions per second. See docs/security.md.
FUZZ_EXECS ?= 2000000
fuzz:
	HV_FUZZ_EXECS=$(FUZZ_EXECS) cargo test --profile fuzz --target $(HOST) -p hv -p hv-devices -- fuzz_ --nocapture --test-threads 2 \
	  | tee /dev/stderr | awk '/^fuzz /{n+=$$3} END{printf "fuzz: %d executions in all\n", n; exit n == 0}'

## Exit costs under -icount (deterministic), image size, static memory. See docs/performance.md.
bench: setup hvgen
	scripts/bench

lint:
	cargo fmt --all -- --check
	cd guests && cargo fmt --all -- --check
	cargo clippy --target $(HOST) $(HOST_CRATES) --all-targets -- -D warnings
	cargo clippy -p hv -- -D warnings
	HV_MACHINE=machines/qemu-virt-riscv64.ron cargo clippy -p hv --target riscv64imac-unknown-none-elf -- -D warnings
	cargo clippy --target $(HOST) -p hv --all-targets -- -D warnings
	cd guests && cargo clippy --workspace --exclude rvtest --exclude rvbench --exclude rvhostile --target aarch64-unknown-none -- -D warnings
	cd guests && cargo clippy -p guest-rt -p hello -p restart -p wild -p rvtest -p rvbench -p rvhostile --target riscv64gc-unknown-none-elf -- -D warnings

fmt:
	cargo fmt --all
	cd guests && cargo fmt --all

clean:
	cargo clean
