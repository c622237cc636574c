"""A real call through the installed, hardened service: kamailio as the PBX and a far-end
baresip, both in the VM (started by the test, outside the unit), the phone's own baresip
under the unit.

The far end calls the phone; the host sees Registered and Incoming Call (Action URL),
answers with the Action URI (key=ANSWER), records the far end's 1 kHz tone on the far side
of the loopback card the phone plays the call on (snd-aloop, through dmix), checks the
phone's baresip has its hardening (NoNewPrivs, a seccomp filter) while the call is up, and
sees Terminated when the far end hangs up. The far end is driven from the host over its
ctrl_tcp port, forwarded with QEMU's hostfwd_add to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
import urllib.request

from conftest import SECRET, SRC, phone_cfg, record
from test_baresip import baresip_pids
from test_devices import dominant_hz
from vm import GATEWAY, GUEST_IP

sys.path.insert(0, str(SRC))
from tests.support.sip_lab import FAR_END_CONFIG, KAMAILIO_CFG, FarEnd, FarEndControl  # noqa: E402

PBX = "/tmp/vm-pbx"
FAR = "/tmp/vm-far"
PBX_PORT = 5090                 # the phone's own SIP edge has 5060
FAR_PORT = 5092
CTRL_PORT = 4444
TONE_HZ = 1000                  # the far end's sine: far from the 425 Hz of the phone's tones


def start_pbx(vm) -> None:
    modules = vm.out("dirname $(dpkg -L kamailio | grep '/modules/tm.so$')").strip()
    cfg = (KAMAILIO_CFG.read_text().replace("@KAMAILIO_MODULES@", modules + "/")
           .replace("@CTL_SOCKET@", f"{PBX}/kamailio.ctl")
           .replace("udp:127.0.0.1:5060", f"udp:127.0.0.1:{PBX_PORT}")
           # The lab's one password is the VM's: the journal test looks for it everywhere.
           .replace('"secret"', f'"{SECRET}"'))
    vm.ssh(f"rm -rf {PBX} && mkdir -p {PBX}")
    vm.write(f"{PBX}/kamailio.cfg", cfg, "0600")
    vm.ssh(f"cd {PBX} && (kamailio -f kamailio.cfg -P {PBX}/pid -w {PBX} -E -DD "
           f">{PBX}/log 2>&1 </dev/null &)")


def start_far_end(vm) -> None:
    modules = vm.out("dirname $(dpkg -L baresip-core | grep '/ctrl_tcp.so$')").strip()
    config = (FAR_END_CONFIG.format(sip_port=FAR_PORT, rtp_lo=20000, rtp_hi=20100,
                                    modules=modules, ctrl_port=CTRL_PORT)
              .replace("ausine,440", f"ausine,{TONE_HZ}")
              # QEMU's hostfwd reaches the guest's address, not its 127.0.0.1.
              .replace(f"ctrl_tcp_listen 127.0.0.1:{CTRL_PORT}", f"ctrl_tcp_listen {GUEST_IP}:{CTRL_PORT}"))
    vm.ssh(f"rm -rf {FAR} && mkdir -p {FAR}")
    vm.write(f"{FAR}/config", config)
    vm.write(f"{FAR}/accounts", f'"Far" <sip:200@127.0.0.1:{PBX_PORT}>;auth_pass={SECRET};'
                                "regint=600;answermode=manual\n")
    vm.ssh(f"(baresip -f {FAR} >{FAR}/log 2>&1 </dev/null & echo $! > {FAR}/pid)")


def stop(vm, directory: str) -> None:
    vm.ssh(f"[ -f {directory}/pid ] && kill $(cat {directory}/pid); "
           f"for i in $(seq 50); do [ -d /proc/$(cat {directory}/pid) ] || break; sleep 0.2; done; true",
           check=False)


def call_cfg(receiver) -> str:
    """The VM's configuration with account 1 on the PBX in the VM."""
    return (phone_cfg(receiver)
            .replace(f"account.1.sip_server.1.address = {GATEWAY}",
                     "account.1.sip_server.1.address = 127.0.0.1")
            .replace("account.1.sip_server.1.port = 5062",
                     f"account.1.sip_server.1.port = {PBX_PORT}"))


def action_uri(installed, key: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{installed.vm.http_port}/servlet?key={key}", headers={"Host": GUEST_IP})
    with urllib.request.urlopen(request, timeout=60) as resp:
        assert resp.status == 200


def hardening(vm, pid: int) -> dict[str, str]:
    status = vm.out(f"cat /proc/{pid}/status")
    return {k: v.strip() for k, v in (line.split(":\t", 1) for line in status.splitlines()
                                      if ":\t" in line)}


async def the_call(installed, receiver, ctrl_port: int) -> dict[str, float]:
    vm = installed.vm
    far = FarEndControl(FarEnd("Far", "200", SRC, PBX_PORT, ctrl_port=ctrl_port))
    await far.connect(timeout=120)          # ... and registered at the PBX
    try:
        figures = {}
        mark, far_mark = receiver.mark(), far.mark()
        start = time.monotonic()
        await far.dial(f"sip:100@127.0.0.1:{PBX_PORT}")
        when, query = await asyncio.to_thread(receiver.wait, "incoming_call", since=mark, timeout=90)
        figures["dial_to_incoming_call_s"] = round(when - start, 2)
        await far.wait("CALL_RINGING", after=far_mark, timeout=60)
        start = time.monotonic()
        await asyncio.to_thread(action_uri, installed, "ANSWER")
        when, _ = await asyncio.to_thread(receiver.wait, "call_established", since=mark, timeout=60)
        figures["answer_to_established_s"] = round(when - start, 2)
        await far.wait("CALL_ESTABLISHED", after=far_mark, timeout=60)
        # Under the unit, in the call: the phone's baresip with its hardening on.
        pids = baresip_pids(installed)
        assert len(pids) == 1, pids
        fields = hardening(vm, pids[0])
        assert (fields["NoNewPrivs"], fields["Seccomp"]) == ("1", "2"), fields
        assert fields["CapEff"] == "0000000000000000", fields
        # The far end's tone on the handset device: the loopback's far side (dmix, subdevice 0).
        await asyncio.to_thread(vm.ssh, "arecord -q -D plughw:CARD=Loopback,DEV=1,SUBDEV=0 "
                                "-f S16_LE -r 48000 -c 1 -d 3 /tmp/call.wav", timeout=90)
        data = base64.b64decode(vm.out("base64 -w0 /tmp/call.wav"))
        hz, rms = dominant_hz(data)
        figures["far_end_tone_hz"] = round(hz, 1)
        assert rms > 100, f"silence on the handset device (rms {rms:.0f})"
        assert abs(hz - TONE_HZ) < 5, hz
        # The far end hangs up: Terminated.
        mark = receiver.mark()
        start = time.monotonic()
        assert (await far.command("hangup")).ok
        when, _ = await asyncio.to_thread(receiver.wait, "call_terminated", since=mark, timeout=60)
        figures["hangup_to_terminated_s"] = round(when - start, 2)
        return figures
    finally:
        await far.hang_up_all()
        await far.close()


def test_a_real_call_through_the_installed_hardened_service(installed, receiver):
    vm = installed.vm
    start_pbx(vm)
    start_far_end(vm)
    ctrl = vm.forward(CTRL_PORT)
    try:
        mark = receiver.mark()
        vm.write(f"/etc/deskphone/{installed.mac}.cfg", call_cfg(receiver), "0640")
        vm.ssh(f"chgrp deskphone /etc/deskphone/{installed.mac}.cfg")
        installed.restart()
        receiver.wait("setup_completed", since=mark, timeout=240)
        receiver.wait("registered", since=mark, timeout=120)
        figures = asyncio.run(the_call(installed, receiver, ctrl))
        for name, value in figures.items():
            record(f"amd64.call_{name}", value)
        # No trouble from baresip under the unit for the whole call.
        assert "baresip could not start" not in installed.run_journal()
    finally:
        vm.unforward(ctrl)
        stop(vm, FAR)
        stop(vm, PBX)
        mark = receiver.mark()
        installed.configure()
        installed.restart()
        receiver.wait("setup_completed", since=mark, timeout=240)
