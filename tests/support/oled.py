"""The bus side of an OLED panel, for luma's real drivers: a mock serial interface and a fake SMBus.

``RecordingSerial`` is a luma serial interface (``command``/``data``/``cleanup``)
that counts the bytes the driver hands it and feeds them to a ``PanelRam``,
a model of the controller's display memory, so a test can check that what the
panel would show equals the frame, however the driver chose to send it.

``FakeSMBus`` stands in for the kernel's I2C bus under luma's real ``i2c``
interface: with the panel unplugged every write fails with ``OSError`` 121
(EREMOTEIO), as ``/dev/i2c-1`` does when nothing acknowledges.
"""

from __future__ import annotations

import errno
import threading

from PIL import Image


class PanelRam:
    """SSD1306 (horizontal addressing) or SH1106 (page addressing) display memory."""

    def __init__(self, kind: str = "ssd1306", width: int = 128, height: int = 64,
                 column_offset: int = 0) -> None:
        self.kind, self.width, self.pages = kind, width, height // 8
        self.offset = column_offset                     # SH1106: 132-column RAM, 128 shown
        self.ram = [bytearray(width + 4) for _ in range(self.pages)]
        self.window = (0, width - 1, 0, self.pages - 1)
        self.col, self.page = 0, 0
        self.on = False
        self.contrast = None

    def command(self, cmd: tuple[int, ...]) -> None:
        if self.kind == "ssd1306" and cmd[0] == 0x21 and len(cmd) >= 6 and cmd[3] == 0x22:
            self.window = (cmd[1], cmd[2], cmd[4], cmd[5])
            self.col, self.page = cmd[1], cmd[4]
        elif self.kind == "sh1106" and 0xB0 <= cmd[0] <= 0xB7 and len(cmd) == 3:
            self.page = cmd[0] - 0xB0
            self.col = (cmd[1] & 0x0F) | ((cmd[2] & 0x0F) << 4)
        elif cmd[0] == 0x81 and len(cmd) == 2:
            self.contrast = cmd[1]
        elif cmd == (0xAF,):
            self.on = True
        elif cmd == (0xAE,) or (len(cmd) > 1 and cmd[0] == 0xAE):
            self.on = False

    def data(self, data: bytes) -> None:
        for byte in data:
            if self.kind == "ssd1306":
                c0, c1, p0, p1 = self.window
                self.ram[self.page][self.col] = byte
                self.col += 1
                if self.col > c1:
                    self.col = c0
                    self.page = p0 if self.page >= p1 else self.page + 1
            else:
                if self.col < len(self.ram[self.page]):
                    self.ram[self.page][self.col] = byte
                self.col += 1

    def image(self) -> Image.Image:
        img = Image.new("1", (self.width, self.pages * 8))
        for p, row in enumerate(self.ram):
            for x in range(self.width):
                byte = row[x + self.offset]
                for bit in range(8):
                    if byte >> bit & 1:
                        img.putpixel((x, p * 8 + bit), 1)
        return img


class RecordingSerial:
    """A luma serial interface that keeps count of what the driver sends."""

    def __init__(self, panel: PanelRam | None = None) -> None:
        self.panel = panel or PanelRam()
        self.command_bytes = 0
        self.data_bytes = 0
        self.writes = 0
        self.cleaned_up = False

    @property
    def total(self) -> int:
        return self.command_bytes + self.data_bytes

    def reset_counts(self) -> None:
        self.command_bytes = self.data_bytes = self.writes = 0

    def command(self, *cmd: int) -> None:
        self.command_bytes += len(cmd)
        self.writes += 1
        self.panel.command(tuple(cmd))

    def data(self, data) -> None:  # noqa: ANN001 - luma passes lists and bytes
        data = bytes(data)
        self.data_bytes += len(data)
        self.writes += 1
        self.panel.data(data)

    def cleanup(self) -> None:
        self.cleaned_up = True


class FakeSMBus:
    """``smbus2.SMBus`` as luma's i2c interface uses it, with a panel that can be unplugged."""

    def __init__(self, panel: PanelRam, address: int = 0x3C) -> None:
        self.panel = panel
        self.address = address
        self.present = True
        self.lock = threading.Lock()
        self.delay = 0.0
        self.data_bytes = 0
        self.fail_on = "all"        # "data": a panel browning out mid-frame still takes commands
        self.closed = 0             # times the bus was closed (luma's cleanup())

    def write_i2c_block_data(self, addr: int, register: int, data: list[int]) -> None:
        if self.delay:
            import time
            time.sleep(self.delay)
        with self.lock:
            gone = not self.present and (self.fail_on == "all" or register == 0x40)
            if gone or addr != self.address:
                raise OSError(errno.EREMOTEIO, "Remote I/O error")
            if register == 0x00:
                self.panel.command(tuple(data))
            else:
                self.data_bytes += len(data)
                self.panel.data(bytes(data))

    def unplug(self) -> None:
        with self.lock:
            self.present = False
            # Power gone: the controller forgets everything.
            self.panel.ram = [bytearray(len(r)) for r in self.panel.ram]
            self.panel.on = False

    def replug(self) -> None:
        with self.lock:
            self.present = True

    def close(self) -> None:
        self.closed += 1
