# deskphone: `make sim` runs the phone on the simulated board, `make test` runs every test.
# Both do their own set-up on a fresh Debian 12 machine (they call apt-get when a
# package is missing, with sudo unless you are root).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages the build and the tests need.
BUILD_DEBS := python3 python3-venv
TEST_DEBS := openssl baresip-core kamailio sip-tester chromium systemd iproute2 alsa-utils libasound2-dev
# python-evdev has no wheels for most platforms (none for ARM): pip builds it from
# source against the kernel's input headers; pyalsaaudio (sound) against ALSA's.
NATIVE_DEBS := gcc libc6-dev linux-libc-dev python3-dev libasound2-dev

.PHONY: venv sim test bench fuzz debs-build debs-native debs-test clean

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

debs-test:
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

# Long fuzzing of the network parsers (tests/fuzz/fuzz_parsers.py), FUZZ_SECONDS per target.
# atheris (coverage-guided) where it has a wheel, else Hypothesis for the same time.
FUZZ_SECONDS ?= 120
fuzz: venv
	-@$(BIN)/pip install --quiet -e '.[fuzz]' 2>/dev/null
	$(BIN)/python tests/fuzz/fuzz_parsers.py --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) run .pytest_cache .hypothesis
