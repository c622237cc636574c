"""The VM lab's machine: boot the image from build_image.sh with QEMU (TCG), drive it over ssh and QMP.

Networking is QEMU's user net only. The host side binds 127.0.0.1 only: ssh and the
phone's HTTP port are forwarded from 127.0.0.1 (hostfwd); the guest reaches the host's
127.0.0.1 through the user-net gateway 10.0.2.2, and has no default route, so nothing
in the guest reaches anything else.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import tarfile
import io
import time
from pathlib import Path

GATEWAY = "10.0.2.2"        # the host's 127.0.0.1 as the guest sees it
GUEST_IP = "10.0.2.15"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VM:
    def __init__(self, image_dir: Path, work_dir: Path, *, arch: str = "amd64",
                 memory_mb: int = 2048, cpus: int = 2, extra_args: list[str] | None = None) -> None:
        self.image_dir = Path(image_dir)
        self.work_dir = Path(work_dir)
        self.arch = arch
        self.memory_mb = memory_mb
        self.cpus = cpus
        self.extra_args = list(extra_args or [])
        self.ssh_port = free_port()
        self.http_port = free_port()
        self.qmp_path = self.work_dir / "qmp.sock"
        self.console_log = self.work_dir / "console.log"
        self.proc: subprocess.Popen | None = None
        self.serial_pty: str | None = None
        self.boot_seconds: float | None = None

    # ---------------------------------------------------------------- lifecycle

    def qemu_argv(self) -> list[str]:
        overlay = self.work_dir / "disk.qcow2"
        base = [
            "-m", str(self.memory_mb), "-smp", str(self.cpus),
            "-accel", "tcg", "-nodefaults", "-display", "none", "-vga", "none",
            "-kernel", str(self.image_dir / "vmlinuz"),
            "-initrd", str(self.image_dir / "initrd.img"),
            "-drive", f"file={overlay},if=none,id=disk,format=qcow2",
            "-netdev", "user,id=n0,net=10.0.2.0/24,"
                       f"hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22,"
                       f"hostfwd=tcp:127.0.0.1:{self.http_port}-:80",
            # ttyS0 / ttyAMA0: the kernel's console, into a file. The second UART is the
            # phone's serial console, a pty on the host.
            "-serial", f"file:{self.console_log}",
            "-serial", "pty",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
        ]
        if self.arch == "arm64":
            # -M virt has one PL011 (ttyAMA0, the kernel's console) for the normal world:
            # a second -serial would go nowhere. The phone's serial console is a virtio
            # console there instead (hvc0 in the guest), a pty on the host all the same.
            i = base.index("pty")
            base[i - 1:i + 1] = ["-device", "virtio-serial-device",
                                 "-chardev", "pty,id=console1",
                                 "-device", "virtconsole,chardev=console1"]
            # pauth-impdef: TCG's QARMA pointer authentication costs a large share of the
            # guest's time; the implementation-defined algorithm is much cheaper.
            return ["qemu-system-aarch64", "-M", "virt", "-cpu", "max,pauth-impdef=on", *base,
                    "-device", "virtio-blk-device,drive=disk",
                    "-device", "virtio-net-device,netdev=n0",
                    "-device", "virtio-keyboard-device,id=kbd",
                    "-append", "root=/dev/vda rw console=ttyAMA0 systemd.show_status=0 "
                    # -M virt's PL061 would be gpiochip0, where lgpio (as on a Pi) and
                    # test_gpio.py expect gpio-sim's chip: its driver is kept from binding.
                    "initcall_blacklist=pl061_gpio_driver_init",
                    *self.extra_args]
        return ["qemu-system-x86_64", "-cpu", "max", *base,
                "-device", "virtio-blk-pci,drive=disk",
                "-device", "virtio-net-pci,netdev=n0",
                "-device", "virtio-keyboard-pci,id=kbd",
                "-append", "root=/dev/vda rw console=ttyS0 systemd.show_status=0",
                *self.extra_args]

    def boot(self, timeout: float = 300) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        overlay = self.work_dir / "disk.qcow2"
        overlay.unlink(missing_ok=True)
        # A throwaway overlay: the built image stays as mmdebstrap made it.
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                        str((self.image_dir / "rootfs.img").resolve()), str(overlay)], check=True)
        self.qmp_path.unlink(missing_ok=True)
        start = time.monotonic()
        log = open(self.work_dir / "qemu.log", "w")
        # nice: the other engineers' tests keep a core.
        self.proc = subprocess.Popen(["nice", "-n", "10", *self.qemu_argv()], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._find_pty()
        self.wait_ssh(timeout)
        self.boot_seconds = time.monotonic() - start

    def _find_pty(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = (self.work_dir / "qemu.log").read_text(errors="replace")
            for line in text.splitlines():
                if "char device redirected to" in line:
                    self.serial_pty = line.split("redirected to", 1)[1].split()[0]
                    return
            time.sleep(0.1)

    def wait_ssh(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"qemu exited ({self.proc.returncode}): "
                                   f"{(self.work_dir / 'qemu.log').read_text()[-2000:]}")
            try:
                if self.ssh("true", timeout=20, check=False).returncode == 0:
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(2)
        raise TimeoutError(f"no ssh after {timeout} s; console: "
                           f"{self.console_log.read_text(errors='replace')[-3000:]}")

    def shutdown(self, timeout: float = 90) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.ssh("systemctl poweroff", timeout=15, check=False)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    # ---------------------------------------------------------------- commands

    def ssh_argv(self) -> list[str]:
        return ["ssh", "-q", "-i", str(self.image_dir / "id_vm"), "-p", str(self.ssh_port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=60", "-o", "LogLevel=ERROR",
                "root@127.0.0.1"]

    def ssh(self, command: str, *, timeout: float = 120, check: bool = True,
            input: str | bytes | None = None) -> subprocess.CompletedProcess:
        data = input.encode() if isinstance(input, str) else input
        done = subprocess.run([*self.ssh_argv(), command], input=data, capture_output=True,
                              timeout=timeout)
        result = subprocess.CompletedProcess(done.args, done.returncode,
                                             done.stdout.decode(errors="replace"),
                                             done.stderr.decode(errors="replace"))
        if check and result.returncode != 0:
            raise AssertionError(f"in the VM: {command!r} exited {result.returncode}\n"
                                 f"stdout: {result.stdout[-4000:]}\nstderr: {result.stderr[-4000:]}")
        return result

    def out(self, command: str, **kw) -> str:
        return self.ssh(command, **kw).stdout

    def write(self, path: str, text: str, mode: str = "0644") -> None:
        self.ssh(f"install -D -m {mode} /dev/stdin {shlex.quote(path)}", input=text)

    def put_tree(self, local: Path, remote: str, *, exclude: tuple[str, ...] = ()) -> None:
        """Copy a directory into the VM (tar over ssh)."""
        buf = io.BytesIO()

        def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
            parts = Path(info.name).parts
            if any(p in exclude or p == "__pycache__" for p in parts):
                return None
            return info

        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(str(local), arcname=".", filter=keep)
        self.ssh(f"rm -rf {shlex.quote(remote)} && mkdir -p {shlex.quote(remote)} && "
                 f"tar -xzf - -C {shlex.quote(remote)} --no-same-owner", input=buf.getvalue(),
                 timeout=300)

    # ---------------------------------------------------------------- QMP

    def qmp(self, execute: str, **arguments) -> dict:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(30)
            s.connect(str(self.qmp_path))
            f = s.makefile("rw")
            json.loads(f.readline())                     # the greeting
            f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
            f.flush()
            self._qmp_reply(f)
            msg = {"execute": execute}
            if arguments:
                msg["arguments"] = arguments
            f.write(json.dumps(msg) + "\n")
            f.flush()
            return self._qmp_reply(f)

    def forward(self, guest_port: int) -> int:
        """A host port on 127.0.0.1 forwarded to the guest's TCP port (QEMU's hostfwd_add)."""
        port = free_port()
        rule = f"tcp:127.0.0.1:{port}-{GUEST_IP}:{guest_port}"
        said = self.qmp("human-monitor-command", **{"command-line": f"hostfwd_add n0 {rule}"})
        if str(said).strip():
            raise RuntimeError(f"hostfwd_add {rule}: {said}")
        return port

    def unforward(self, port: int) -> None:
        self.qmp("human-monitor-command",
                 **{"command-line": f"hostfwd_remove n0 tcp:127.0.0.1:{port}"})

    @staticmethod
    def _qmp_reply(f) -> dict:
        while True:
            reply = json.loads(f.readline())
            if "event" in reply:
                continue
            if "error" in reply:
                raise RuntimeError(f"QMP: {reply['error']}")
            return reply.get("return", {})


def qemu_available(arch: str = "amd64") -> bool:
    binary = "qemu-system-aarch64" if arch == "arm64" else "qemu-system-x86_64"
    return shutil.which(binary) is not None and os.geteuid() == 0
