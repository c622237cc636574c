"""Provisioning when the disk fails it (issue 15, item 16): a full state disk.

A tmpfs of 256 KiB in a mount namespace of its own (unshare -m) is the state
directory; a filler file takes the space the new set needs, as a full SD card
would. The run must leave the previous set in force and nothing of the new one
on disk, and say which error it was (not just "OSError").
"""

from __future__ import annotations

import json
import subprocess
import sys

from support.mount_ns import namespace_unavailable
from support.needs import requires

DISK = r'''
import json, os, sys
from pathlib import Path
from deskphone.net.provisioning import ProvisioningError, install_set
state = Path(sys.argv[1])
out = {}
old = {"y000000000000.cfg": "#!version:1.0.0.1\nforward.busy.target = 1\n"}
install_set(state, old)
try:
    with open(state / "filler", "wb") as f:
        while True:
            f.write(b"x" * 4096)
            f.flush()
except OSError as exc:
    out["filler_errno"] = exc.errno
os.truncate(state / "filler", os.path.getsize(state / "filler") - 8192)   # room for a little
new = {"y000000000000.cfg": "#!version:1.0.0.1\n" + "# a long template line\n" * 4000,
       "001565abcdef.cfg": "#!version:1.0.0.1\nforward.busy.target = 2\n"}
try:
    install_set(state, new)
    out["error"] = None
except ProvisioningError as exc:
    out["error"] = str(exc)
link = state / "provisioned"
out["in_force"] = {p.name: p.read_text() for p in link.iterdir()}
out["sets"] = sorted(p.name for p in state.iterdir() if p.name.startswith(".provisioned-"))
out["temp"] = sorted(p.name for s in state.iterdir() if s.is_dir() for p in s.iterdir()
                     if p.name.endswith(".tmp"))
os.unlink(state / "filler")
install_set(state, new)                                 # space again: the new set goes in
out["after"] = sorted(p.name for p in link.iterdir())
print(json.dumps(out))
'''


@requires(namespace_unavailable())
def test_a_full_disk_leaves_the_old_set_and_no_half_new_one(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    script = (f"mount -t tmpfs -o size=256k tmpfs {folder} && "
              f"exec {sys.executable} -c \"$0\" {folder}")
    done = subprocess.run(["unshare", "-m", "--", "sh", "-c", script, DISK],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    assert got["filler_errno"] == 28                              # ENOSPC, from the kernel
    assert got["error"] is not None
    assert "No space left on device (ENOSPC); the previous set stays in force" in got["error"]
    assert got["in_force"] == {".order": "y000000000000.cfg\n",
                               "y000000000000.cfg": "#!version:1.0.0.1\n"
                                                    "forward.busy.target = 1\n"}
    assert len(got["sets"]) == 1 and got["temp"] == []            # nothing of the new set
    assert got["after"] == [".order", "001565abcdef.cfg", "y000000000000.cfg"]
