"""Input event nodes without a kernel input device: ptys carrying packed ``struct input_event``s.

Only the kernel boundary is replaced. ``PtyInputDevice`` is python-evdev's real
``InputDevice`` whose constructor skips the identity ioctls (a pty has no name,
phys or capabilities to ask for) and whose ``grab`` only records the call;
reading (``async_read_loop`` -> ``async_read`` -> ``_input.device_read_many``,
the C code that ``read(2)``s and unpacks the records) is evdev's own.

Why a pty and not a pipe: an unplugged event node fails ``read(2)`` with
``ENODEV``. A pty master does the same kind of thing when its slave end is
closed (``EIO``), after delivering what was written before, so an unplug
mid-stream can be tested. A pipe would give end-of-file, which evdev's reader
cannot report (it never happens on a real node). The slave is put in raw mode,
so the bytes pass unchanged.

``struct input_event`` layout: ``struct timeval`` (two C ``long``s, kernel
``__kernel_ulong_t``) then ``__u16 type, __u16 code, __s32 value``: 24 bytes on
64-bit (arm64 Raspberry Pi OS, x86_64), 16 bytes on 32-bit (armhf). ``@llHHi``
is that native layout of the running Python, so the same records are what the
evdev C extension, built for the same machine, reads.
"""

from __future__ import annotations

import fcntl
import os
import struct
import time
import tty
from dataclasses import dataclass, field

from evdev import InputDevice, ecodes

INPUT_EVENT = struct.Struct("@llHHi")


def pack(etype: int, code: int, value: int, when: float | None = None) -> bytes:
    t = time.time() if when is None else when
    return INPUT_EVENT.pack(int(t), int((t % 1) * 1_000_000), etype, code, value)


def key_records(code: int, value: int) -> bytes:
    """What a keyboard sends for one key transition: MSC_SCAN, EV_KEY, SYN_REPORT."""
    return (pack(ecodes.EV_MSC, ecodes.MSC_SCAN, code) + pack(ecodes.EV_KEY, code, value)
            + pack(ecodes.EV_SYN, ecodes.SYN_REPORT, 0))


class PtyInputDevice(InputDevice):
    """evdev's InputDevice over a pty master: the ioctls replaced, the reading code real."""

    # Skips InputDevice.__init__ on purpose: there is no device node to open.
    def __init__(self, node: "FakeNode") -> None:  # noqa: D107
        self.path = node.path
        self.fd = os.dup(node.master)
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.name = node.name
        self.phys = node.phys
        self.uniq = ""
        self.info = None
        self.version = 0x10001
        self._rawcapabilities = {}
        self.ff_effects_count = 0
        self._node = node

    def grab(self) -> None:
        self._node.grabs += 1

    def ungrab(self) -> None:
        pass

    def active_keys(self, verbose: bool = False) -> list[int]:
        return sorted(self._node.held)


@dataclass
class FakeNode:
    path: str
    name: str
    phys: str = ""
    grabs: int = 0
    held: set[int] = field(default_factory=set)
    master: int = -1
    slave: int = -1

    def __post_init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)

    def write(self, data: bytes) -> None:
        os.write(self.slave, data)

    def press(self, code: int) -> None:
        self.held.add(code)
        self.write(key_records(code, 1))

    def release(self, code: int) -> None:
        self.held.discard(code)
        self.write(key_records(code, 0))

    def tap(self, code: int) -> None:
        self.write(key_records(code, 1) + key_records(code, 0))

    def repeat(self, code: int) -> None:
        self.write(pack(ecodes.EV_KEY, code, 2) + pack(ecodes.EV_SYN, ecodes.SYN_REPORT, 0))

    def unplug(self) -> None:
        """The device goes away: readers get what was written, then an error."""
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1

    def close(self) -> None:
        self.unplug()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


class FakeInputBus:
    """An ``InputBus`` of FakeNodes: plug and unplug them, links included."""

    def __init__(self) -> None:
        self.nodes: dict[str, FakeNode] = {}
        self.links: dict[str, str] = {}     # by-id path -> event node path
        self.opened: list[str] = []
        self._n = 0

    def plug(self, name: str, phys: str = "", link: str | None = None) -> FakeNode:
        path = f"/dev/input/event{self._n}"       # a new number each time, as the kernel does
        self._n += 1
        node = FakeNode(path, name, phys)
        self.nodes[path] = node
        if link:
            self.links[link] = path
        return node

    def unplug(self, node: FakeNode) -> None:
        node.close()      # an open reader keeps its own descriptor: it reads the rest, then EIO
        self.nodes.pop(node.path, None)
        for link, target in list(self.links.items()):
            if target == node.path:
                del self.links[link]

    def paths(self) -> list[str]:
        return sorted(self.nodes)

    def open(self, path: str) -> PtyInputDevice:
        path = self.links.get(path, path)
        node = self.nodes.get(path)
        if node is None:
            raise FileNotFoundError(2, "No such file or directory", path)
        self.opened.append(path)
        return PtyInputDevice(node)

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()
