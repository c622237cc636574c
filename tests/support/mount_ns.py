"""Whether this kernel lets a test mount its own tmpfs in a mount namespace (a small, real
disk it can fill or make read-only), and why not when it does not."""

from __future__ import annotations

import shutil
import subprocess


def namespace_unavailable() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-m", "--", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot mount a tmpfs in a mount namespace here: {probe.stderr.strip()}"
    return None
