"""The VM lab (`make vm-test`): a Debian 12 VM with a real kernel and systemd, the phone
installed in it by systemd/install.sh, and tests on the host against the live service.

Not part of `make test`: the test files here are only collected with DESKPHONE_VM=1
(`make vm-test` sets it and runs pytest with tests/vm/pytest.ini as its own rootdir).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parent.parent

if os.environ.get("DESKPHONE_VM") != "1":
    collect_ignore_glob = ["test_*.py"]

sys.path.insert(0, str(HERE))
from vm import GATEWAY, VM  # noqa: E402

IMAGE_DIR = Path(os.environ.get("DESKPHONE_VM_IMAGE", SRC / "run" / "vm" / "amd64")).resolve()
WORK_DIR = Path(os.environ.get("DESKPHONE_VM_WORK", SRC / "run" / "vm" / "work-amd64")).resolve()
FIGURES = WORK_DIR / "figures.json"
ARCH = os.environ.get("DESKPHONE_VM_ARCH", "amd64")
SECRET = "vm-Secret-4242"       # the SIP password: must never reach the journal
# arm64 (`make vm-test-arm64`): -M virt has one PL011, so the phone's serial console is the
# virtio console hvc0 (vm.py), named by the arm64 twins of the board files.
BOARD_SUFFIX = "-arm64" if ARCH == "arm64" else ""
CONSOLE_TTY = "/dev/hvc0" if ARCH == "arm64" else "/dev/ttyS1"
# What `make vm-test-arm64` runs under TCG (about ten times slower than the amd64 guest):
# the installer, the service with READY, Setup Completed, a hook edge, the serial console.
ARM64_TESTS = {
    "test_service.py::test_install_sh_installs_and_starts_the_service",
    "test_service.py::test_type_notify_ready_and_running",
    "test_service.py::test_setup_completed_reaches_the_host",
    "test_gpio.py::test_hook_edges_and_power_led_pwm_on_gpio_sim",
    "test_devices.py::test_serial_console_on_the_second_uart",
}


def pytest_collection_modifyitems(config, items) -> None:
    if ARCH != "arm64":
        return
    keep = [i for i in items if i.nodeid.split("/")[-1] in ARM64_TESTS]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


def record(name: str, value) -> None:
    """A measured figure, kept in run/vm/work/figures.json (the README quotes them)."""
    data = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    data[name] = value
    FIGURES.write_text(json.dumps(data, indent=2, sort_keys=True))


# ----------------------------------------------------------------- the Action URL receiver

class Receiver:
    """Action URL requests from the phone in the VM, on the host's 127.0.0.1."""

    def __init__(self) -> None:
        self.requests: list[tuple[float, str, dict[str, str]]] = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                with outer.cond:
                    outer.requests.append((time.monotonic(), url.path.strip("/"), query))
                    outer.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, event: str) -> str:
        """The URL the guest uses: 10.0.2.2 is the host's 127.0.0.1 through QEMU's user net."""
        return f"http://{GATEWAY}:{self.port}/{event}?mac=$mac&ip=$ip"

    def mark(self) -> int:
        with self.cond:
            return len(self.requests)

    def wait(self, event: str, *, since: int = 0, timeout: float = 120) -> tuple[float, dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for when, path, query in self.requests[since:]:
                    if path == event:
                        return when, query
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [p for _, p, _ in self.requests[since:]]
                    raise AssertionError(f"no {event!r} within {timeout} s (got {seen})")
                self.cond.wait(left)

    def stop(self) -> None:
        self.server.shutdown()


def poll(read, predicate, timeout: float, interval: float = 1.0):
    """read() until predicate(value) holds; the last value in the assertion when it never does."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if predicate(value):
            return value
        assert time.monotonic() < deadline, value
        time.sleep(interval)


# ----------------------------------------------------------------- the VM and the install

@pytest.fixture(scope="session")
def receiver():
    rx = Receiver()
    yield rx
    rx.stop()


@pytest.fixture(scope="session")
def vm():
    if not (IMAGE_DIR / "rootfs.img").exists():
        pytest.fail(f"no VM image in {IMAGE_DIR}: `make vm-test` builds it (tests/vm/build_image.sh)",
                    pytrace=False)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    machine = VM(IMAGE_DIR, WORK_DIR, arch=ARCH)
    machine.boot(timeout=300 if ARCH == "amd64" else 1200)   # arm64: TCG is slower
    record(f"{ARCH}.boot_s", round(machine.boot_seconds, 1))
    yield machine
    machine.shutdown()


EVENTS = ("setup_completed", "ip_change", "off_hook", "on_hook", "handfree", "register_failed",
          "registered", "incoming_call", "call_established", "call_terminated", "dnd_on", "dnd_off",
          "idle_to_busy", "busy_to_idle")


def phone_cfg(receiver: Receiver, extra: str = "") -> str:
    lines = ["#!version:1.0.0.1", "deskphone.engine = baresip",
             # An account (so the password is in the settings): its server is the host's
             # 127.0.0.1 through the gateway, where nothing answers SIP.
             "account.1.enable = 1", "account.1.user_name = 100", "account.1.auth_name = 100",
             f"account.1.password = {SECRET}", f"account.1.sip_server.1.address = {GATEWAY}",
             "account.1.sip_server.1.port = 5062",
             "deskphone.log_level = info",
             # Action URI from the host: hostfwd connections arrive from the gateway.
             f"features.action_uri_limit_ip = {GATEWAY}", "features.show_action_uri_option = 0"]
    lines += [f"action_url.{e} = {receiver.url(e)}" for e in EVENTS]
    return "\n".join(lines) + "\n" + extra


class Installed:
    def __init__(self, vm: VM, receiver: Receiver) -> None:
        self.vm = vm
        self.receiver = receiver
        self.mac = vm.out("cat /sys/class/net/$(ls /sys/class/net | grep -v lo | head -1)/address"
                          ).strip().replace(":", "")
        self.first_output = ""
        self.install_seconds = 0.0

    def install(self, *, board: str = f"/opt/deskphone/src/tests/vm/board-vm{BOARD_SUFFIX}.toml") -> str:
        """systemd/install.sh from the working tree, copied into the VM."""
        start = time.monotonic()
        self.vm.put_tree(SRC, "/opt/deskphone/src",
                         exclude=(".venv", ".git", "run", ".pytest_cache", ".hypothesis", "node_modules"))
        done = self.vm.ssh(f"/opt/deskphone/src/systemd/install.sh --board {board}", timeout=1200)
        self.install_seconds = time.monotonic() - start
        return done.stdout + done.stderr

    def configure(self, extra: str = "") -> None:
        self.vm.write(f"/etc/deskphone/{self.mac}.cfg", phone_cfg(self.receiver, extra), "0640")
        self.vm.ssh(f"chgrp deskphone /etc/deskphone/{self.mac}.cfg")

    def restart(self) -> int:
        mark = self.receiver.mark()
        self.vm.ssh("systemctl restart deskphone", timeout=180)
        return mark

    def show(self, *props: str) -> dict[str, str]:
        text = self.vm.out(f"systemctl show deskphone -p {','.join(props)}")
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def pids(self, comm: str) -> list[int]:
        """The processes named ``comm`` in the service's cgroup (one ssh: a loaded TCG guest
        makes every connection cost seconds)."""
        cgroup = self.show("ControlGroup")["ControlGroup"]
        out = self.vm.out(f"for p in $(cat /sys/fs/cgroup{cgroup}/cgroup.procs); do "
                          f"[ \"$(cat /proc/$p/comm 2>/dev/null)\" = {comm} ] && echo $p; done; true")
        return [int(p) for p in out.split()]

    def run_journal(self) -> str:
        """What the service's current run logged (its invocation's entries): a --since of
        the start's second also holds the previous run's last lines when a restart takes
        less than a second."""
        invocation = self.show("InvocationID")["InvocationID"]
        return self.vm.out(f"journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID={invocation}")

    def journal(self, since: str = "", fmt: str = "cat") -> str:
        cursor = f"--since={since!r}" if since else ""
        return self.vm.out(f"journalctl -u deskphone --no-pager -o {fmt} {cursor}")


@pytest.fixture(scope="session")
def installed(vm, receiver):
    inst = Installed(vm, receiver)
    inst.first_output = inst.install()
    record(f"{ARCH}.install_s", round(inst.install_seconds, 1))
    # VM-only: an emulated CPU (TCG) on a loaded host starts the daemon many times slower
    # than a Pi; the unit's TimeoutStartSec=60 then killed starts that were only slow, and
    # the watchdog test saw a restart loop. The VM gives a start five minutes.
    vm.write("/etc/systemd/system/deskphone.service.d/vm-slow-cpu.conf",
             "[Service]\nTimeoutStartSec=300\n")
    if ARCH == "arm64":
        # VM-only: the unit allows the Pi's UARTs (ttyAMA, ttyS), not the virtio console,
        # and udev gives hvc0 to group tty: hvc0 as a UART would be (dialout, 0660).
        vm.write("/etc/systemd/system/deskphone.service.d/vm-hvc.conf",
                 "[Service]\nDeviceAllow=char-hvc rw\n")
        vm.write("/etc/udev/rules.d/60-deskphone-vm-hvc.rules",
                 'KERNEL=="hvc0", GROUP="dialout", MODE="0660"\n')
        vm.ssh("udevadm control --reload && udevadm trigger --action=add --sysname-match=hvc0 "
               "&& udevadm settle")
    vm.ssh("systemctl daemon-reload")
    inst.configure()
    start = time.monotonic()
    mark = inst.restart()
    when, _ = receiver.wait("setup_completed", since=mark, timeout=240 if ARCH == "amd64" else 900)
    record(f"{ARCH}.first_setup_completed_s", round(when - start, 1))
    return inst


# ----------------------------------------------------------------- the phases' times

_SESSION_START = time.monotonic()


def pytest_terminal_summary(terminalreporter) -> None:
    """What `make vm-test` spent where: the image's steps, the boot, the install, the tests."""
    if os.environ.get("DESKPHONE_VM") != "1":
        return
    lines = []
    timings = IMAGE_DIR / "timings.txt"
    if timings.exists():
        lines += [f"image: {line.strip()}" for line in timings.read_text().splitlines() if line.strip()]
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    for key in ("boot_s", "install_s"):
        if f"{ARCH}.{key}" in figures:
            lines.append(f"vm:    {key.removesuffix('_s'):<10} {figures[f'{ARCH}.{key}']:7.1f} s")
    lines.append(f"tests: all        {time.monotonic() - _SESSION_START:7.1f} s (boot and install included)")
    terminalreporter.write_sep("=", "vm-test phases")
    for line in lines:
        terminalreporter.write_line(line)
