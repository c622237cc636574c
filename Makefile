# deskphone: `make sim` runs the phone on the simulated board, `make test` runs every test.
# Both do their own set-up on a fresh Debian 12 machine (they call apt-get when a
# package is missing, with sudo unless you are root).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages the build and the tests need.
BUILD_DEBS := python3 python3-venv
TEST_DEBS := openssl curl baresip-core kamailio kamailio-presence-modules sip-tester chromium systemd iproute2 alsa-utils libasound2-dev tftpd-hpa vsftpd dnsmasq-base isc-dhcp-client dhcpcd-base
# python-evdev has no wheels for most platforms (none for ARM): pip builds it from
# source against the kernel's input headers; pyalsaaudio (sound) against ALSA's.
NATIVE_DEBS := gcc libc6-dev linux-libc-dev python3-dev libasound2-dev

.PHONY: venv sim test bench soak fuzz debs-build debs-native debs-test debs-test-install clean vm-debs vm-image vm-test vm-test-arm64

define ensure_debs
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

debs-build:
ifeq ($(shell $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null && echo ok),ok)
	@true
else
	$(call ensure_debs,$(BUILD_DEBS))
endif

debs-native:
	$(call ensure_debs,$(NATIVE_DEBS))

# Servers the tests start themselves, on loopback, as they need them. Their packages start a
# system service at install where systemd runs (kamailio on 5060, tftpd on 69, vsftpd on 21):
# those this step installs are stopped and disabled again, never left listening on the host.
SERVICE_DEBS := kamailio tftpd-hpa vsftpd

debs-test:
	@fresh=""; for p in $(SERVICE_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || fresh="$$fresh $$p"; \
	done; \
	$(MAKE) --no-print-directory debs-test-install || exit 1; \
	if [ -n "$$fresh" ] && [ -d /run/systemd/system ]; then \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  for p in $$fresh; do $$SUDO systemctl disable --now $$p >/dev/null 2>&1 || true; done; \
	  echo "Stopped and disabled the services the tests run themselves:$$fresh"; \
	fi

debs-test-install:
	$(call ensure_debs,$(TEST_DEBS))

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory debs-build
	@$(MAKE) --no-print-directory debs-native
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

sim: venv
	$(BIN)/deskphone sim

test: venv debs-test
	$(BIN)/pytest

# Benchmarks (tests/bench/bench_*.py): figures to read, not timed tests (about 4 minutes).
bench: venv
	@for f in tests/bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# The daemon under mixed traffic (calls, keys, Action URLs, untrusted floods, slow clients) for
# SOAK_SECONDS (default 30 minutes), with figures (tests/soak/soak.py; README "Security").
SOAK_SECONDS ?= 1800
soak: venv
	SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python tests/soak/soak.py

# Long fuzzing of the network parsers (tests/fuzz/fuzz_parsers.py), FUZZ_SECONDS per target.
# atheris (coverage-guided) where it has a wheel, else Hypothesis for the same time.
FUZZ_SECONDS ?= 120
fuzz: venv
	-@$(BIN)/pip install --quiet -e '.[fuzz]' 2>/dev/null
	$(BIN)/python tests/fuzz/fuzz_parsers.py --seconds $(FUZZ_SECONDS)

# The VM lab (tests/vm, README "Tested on a real kernel"): a Debian 12 image built from
# Debian packages (mmdebstrap, as root), booted with QEMU (TCG), the phone installed in
# it by systemd/install.sh, tests on this host against the live service; then shut down.
# Nothing is kept between runs unless VM_KEEP_IMAGE=1 (then an existing image is reused);
# without it the disk image (1.3 GB) and the run's overlay are removed after the tests.
VM_DIR ?= run/vm
VM_DEBS := mmdebstrap qemu-system-x86 qemu-utils e2fsprogs openssh-client
VM_PYTEST = DESKPHONE_VM=1 DESKPHONE_VM_WORK=$(VM_DIR)/work-$(1) DESKPHONE_VM_IMAGE=$(VM_DIR)/$(1) \
	DESKPHONE_VM_ARCH=$(1) $(BIN)/pytest -c tests/vm/pytest.ini tests/vm

vm-debs:
	$(call ensure_debs,$(VM_DEBS))

vm-image: venv vm-debs
	@if [ "$(VM_KEEP_IMAGE)" = 1 ] && [ -f $(VM_DIR)/amd64/rootfs.img ]; then \
	  echo "reusing $(VM_DIR)/amd64 (VM_KEEP_IMAGE=1)"; \
	else rm -rf $(VM_DIR)/amd64 && tests/vm/build_image.sh $(VM_DIR)/amd64; fi

vm-test: venv vm-debs
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory vm-image && rm -rf $(VM_DIR)/work-amd64 && \
	$(call VM_PYTEST,amd64); rc=$$?; \
	if [ "$(VM_KEEP_IMAGE)" != 1 ]; then rm -f $(VM_DIR)/amd64/rootfs.img $(VM_DIR)/work-amd64/disk.qcow2; fi; \
	echo "vm-test: $$(( $$(date +%s) - start )) s in all (exit $$rc)"; exit $$rc

# arm64 (README "Tested on a real kernel", arm64): the same recipe with an arm64 image
# (mmdebstrap --architectures=arm64 through qemu-user-static and binfmt_misc) booted by
# qemu-system-aarch64 -M virt under TCG; only the tests in conftest.py's ARM64_TESTS.
# Far too slow for CI: run by hand.
VM_DEBS_ARM64 := $(VM_DEBS) qemu-system-arm qemu-user-static binfmt-support arch-test

vm-test-arm64: venv
	$(call ensure_debs,$(VM_DEBS_ARM64))
	@[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
	@update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
	@start=$$(date +%s); \
	if [ "$(VM_KEEP_IMAGE)" = 1 ] && [ -f $(VM_DIR)/arm64/rootfs.img ]; then \
	  echo "reusing $(VM_DIR)/arm64 (VM_KEEP_IMAGE=1)"; \
	else rm -rf $(VM_DIR)/arm64 && VM_ARCH=arm64 tests/vm/build_image.sh $(VM_DIR)/arm64; fi && \
	rm -rf $(VM_DIR)/work-arm64 && $(call VM_PYTEST,arm64); rc=$$?; \
	if [ "$(VM_KEEP_IMAGE)" != 1 ]; then rm -f $(VM_DIR)/arm64/rootfs.img $(VM_DIR)/work-arm64/disk.qcow2; fi; \
	echo "vm-test-arm64: $$(( $$(date +%s) - start )) s in all (exit $$rc)"; exit $$rc

clean:
	rm -rf $(VENV) run .pytest_cache .hypothesis
