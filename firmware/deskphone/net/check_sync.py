"""``NOTIFY`` with ``Event: check-sync``: the PBX asks the phone to provision again.

PBXs send ``Event: check-sync;reboot=false`` (and ``reboot=true`` to restart the
phone after) through Asterisk's ``pjsip send notify`` (FreePBX's ``generic-reload``
and ``reboot-yealink``, mikopbx's ``yealink-reboot``), FreeSWITCH, Wazo and FusionPBX. Who may send it is decided as for an ``ACTION-URI`` NOTIFY
(``core.remote_control.decide``, in net/sip_notify.py); this module only reads
the event and hands ``RequestAutoProvision`` to the core, which runs provisioning
and, for ``reboot=true``, restarts after a good set (core/autop.py). Without a
``reboot`` parameter the phone does not restart: a reboot drops nothing only when
asked for.
"""

from __future__ import annotations

import logging

from ..core import inputs as ins
from ..host import PhoneHost

log = logging.getLogger("deskphone.provisioning")

SIP_EVENT = "check-sync"        # compared in lower case


def wants_reboot(event: str) -> bool:
    """``check-sync;reboot=true`` (parameter names and values in any case) -> True."""
    _, _, params = event.partition(";")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "reboot":
            return value.strip().strip('"').lower() == "true"
    return False


def from_notify(host: PhoneHost, event: str, source: str) -> tuple[int, str | None]:
    """Start provisioning for a trusted check-sync; the SIP status and the reason to log."""
    reboot = wants_reboot(event)
    log.info("check-sync from %s: provisioning%s", source, ", then a restart" if reboot else "")
    host.post(ins.RequestAutoProvision(reboot=reboot))
    return 200, None
