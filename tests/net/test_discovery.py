"""Finding the provisioning server without one configured: DHCP options, then SIP PnP.

DHCP: dnsmasq (Debian's dnsmasq-base) is the DHCP server in one network namespace,
ISC dhclient (isc-dhcp-client) or dhcpcd (dhcpcd-base) the client in another, joined
by a veth pair; the lease the client writes is what the phone reads, as it reads the
system client's lease on a Raspberry Pi (dhcpcd's is the raw DHCPACK). The options
carry URLs of servers on 127.0.0.1 (the phone and the provisioning servers stay on
loopback; only DHCP runs in the namespaces).

SIP PnP: no Debian package serves it, so a small PnP server written here answers the
multicast SUBSCRIBE inside a network namespace made for the test (multicast never
leaves it): 200, then a NOTIFY with the URL, as Yealink's PnP and the PBXs that
implement it (FreePBX's endpoint manager, 3CX) do.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from deskphone.net.discovery import (dhcp_url, parse_dhcp_message, parse_dhclient, parse_nmcli,
                                     pnp_url, url_from_options)
from support import netns
from support.needs import requires
from support.phone import start_phone
from support.prov_server import ProvServer, autop
from support.tftp_server import TftpServer

MAC = "001565abcdef"
REASON = netns.unavailable() or (
    None if shutil.which("dnsmasq") and shutil.which("dhclient")
    else "dnsmasq (dnsmasq-base) and dhclient (isc-dhcp-client) are needed")


DHCPCD_DB = Path("/var/lib/dhcpcd")        # dhcpcd's DBDIR, built in: no option moves it


def run_dhcpcd(client: netns.NetNs, tmp: Path) -> Path:
    """dhcpcd 9 (dhcpcd-base, Raspberry Pi OS before bookworm) once; its raw lease, copied."""
    conf = tmp / "dhcpcd.conf"
    conf.write_text("option tftp_server_name\noption 160\n")
    done = subprocess.run(client.exec_argv([
        "dhcpcd", "-4", "-1", "-B", "--noarp", "-f", str(conf), "-c", "/bin/true",
        "-j", str(tmp / "dhcpcd.log"), "dpvb"]), capture_output=True, timeout=30)
    written = DHCPCD_DB / "dpvb.lease"
    assert done.returncode == 0 and written.exists(), (tmp / "dhcpcd.log").read_text()
    lease = tmp / "dpvb.lease"
    shutil.copy(written, lease)
    written.unlink()
    return lease


@contextlib.contextmanager
def dhcp_lease(tmp: Path, options: list[str], client_kind: str = "dhclient"):
    """dnsmasq serving ``options`` (its --dhcp-option-force syntax) to a real DHCP client
    (dhclient or dhcpcd): the lease file it wrote."""
    with netns.NetNs() as server, netns.NetNs() as client:
        server.ip("link", "add", "dpva", "type", "veth", "peer", "name", "dpvb",
                  "netns", client.name)
        server.ip("addr", "add", "10.77.0.1/24", "dev", "dpva")
        server.ip("link", "set", "dpva", "up")
        client.ip("link", "set", "dpvb", "up")
        conf = tmp / "dhclient.conf"
        # Option 160 as the Yealink custom option; dhclient knows 160 as v4-captive-portal.
        conf.write_text("request subnet-mask, routers, tftp-server-name, "
                        "vendor-encapsulated-options, v4-captive-portal;\n")
        lease = tmp / "dhclient.vb.leases"
        dnsmasq = subprocess.Popen(server.exec_argv([
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0",
            "--interface=dpva", "--bind-interfaces", "--no-ping",
            "--dhcp-range=10.77.0.50,10.77.0.60,1h",
            f"--dhcp-leasefile={tmp / 'dnsmasq.leases'}", f"--pid-file={tmp / 'dnsmasq.pid'}",
            *(f"--dhcp-option-force={o}" for o in options)]),
            stdout=subprocess.DEVNULL, stderr=(tmp / "dnsmasq.log").open("wb"))
        dhclient = None
        try:
            # dhclient's first DISCOVER must find dnsmasq listening (a lost one costs 3-8 s).
            deadline = time.monotonic() + 10
            while b"sockets bound" not in (tmp / "dnsmasq.log").read_bytes():
                assert dnsmasq.poll() is None, (tmp / "dnsmasq.log").read_text()
                assert time.monotonic() < deadline, "dnsmasq did not start"
                time.sleep(0.02)
            if client_kind == "dhcpcd":
                yield run_dhcpcd(client, tmp)
                return
            dhclient = subprocess.Popen(client.exec_argv([
                "dhclient", "-d", "-1", "-cf", str(conf), "-lf", str(lease),
                "-pf", str(tmp / "dhclient.pid"), "-sf", "/bin/true", "dpvb"]),
                stdout=subprocess.DEVNULL, stderr=(tmp / "dhclient.log").open("wb"))
            deadline = time.monotonic() + 20
            while not (lease.exists() and "lease {" in lease.read_text()):
                assert dhclient.poll() is None, (tmp / "dhclient.log").read_text()
                assert time.monotonic() < deadline, (tmp / "dnsmasq.log").read_text()
                time.sleep(0.05)
            yield lease
        finally:
            for proc in (dhclient, dnsmasq):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(5)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


GOOD = "#!version:1.0.0.1\nforward.busy.target = 266\n"


@requires(REASON)
@pytest.mark.parametrize("shape, client_kind", [
    ("option 66", "dhclient"), ("option 160 before 66", "dhclient"), ("option 43", "dhclient"),
    ("option 160 before 66", "dhcpcd")])
async def test_the_dhcp_lease_names_the_server(tmp_path, receiver, shape, client_kind):
    if client_kind == "dhcpcd" and not shutil.which("dhcpcd"):
        pytest.fail("dhcpcd (dhcpcd-base) is in the Makefile's TEST_DEBS")
    async with ProvServer({"y000000000000.cfg": GOOD}) as server:
        dead = f"http://127.0.0.1:{closed_port()}/nothing/"
        # (argv, not a shell: no quotes around the values)
        options = {"option 66": [f"66,{server.url}"],
                   "option 160 before 66": [f"160,{server.url}", f"66,{dead}"],
                   "option 43": [f"43,{server.url}"]}[shape]
        with dhcp_lease(tmp_path, options, client_kind) as lease:
            phone = await start_phone(tmp_path, receiver.base,
                                      extra=f"deskphone.provisioning.lease_files = {lease}\n")
            try:
                result = await autop(phone, receiver, expect_finish=True)
                assert result.ok, result.reason
                assert phone.settings["forward.busy.target"] == "266"
                assert phone.settings["static.auto_provision.server.url"] == ""   # not stored
            finally:
                await phone.stop()


@requires(REASON)
async def test_option_66_with_only_a_host_means_tftp(tmp_path, receiver):
    root = tmp_path / "tftproot"
    root.mkdir()
    (root / "y000000000000.cfg").write_text(GOOD)
    with TftpServer(root) as tftp, \
            dhcp_lease(tmp_path, [f"66,127.0.0.1:{tftp.port}"]) as lease:
        assert dhcp_url([str(lease)], system=False) == f"tftp://127.0.0.1:{tftp.port}/"
        phone = await start_phone(tmp_path, receiver.base,
                                  extra=f"deskphone.provisioning.lease_files = {lease}\n")
        try:
            assert (await autop(phone, receiver, expect_finish=True)).ok
            assert phone.settings["forward.busy.target"] == "266"
        finally:
            await phone.stop()


@requires(REASON)
async def test_dhcp_option_enable_0_reads_no_lease(tmp_path, receiver):
    async with ProvServer({"y000000000000.cfg": GOOD}) as server:
        with dhcp_lease(tmp_path, [f"66,{server.url}"]) as lease:
            phone = await start_phone(tmp_path, receiver.base, extra=(
                f"deskphone.provisioning.lease_files = {lease}\n"
                "static.auto_provision.dhcp_option.enable = 0\n"))
            try:
                result = await autop(phone, receiver, expect_finish=False)
                assert "none discovered" in result.reason
                assert server.requests == []
            finally:
                await phone.stop()


# ------------------------------------------------------------- the lease formats


def test_nmcli_options():
    """nmcli -t -f DHCP4 device show, as NetworkManager 1.42 (bookworm) prints a lease."""
    text = ("DHCP4.OPTION[1]:dhcp_lease_time = 3600\n"
            "DHCP4.OPTION[2]:ip_address = 10.0.0.23\n"
            "DHCP4.OPTION[3]:tftp_server_name = http://pbx.example/prov/\n"
            "DHCP4.OPTION[4]:vendor_encapsulated_options = 01:02:03\n")
    options = parse_nmcli(text)
    assert set(options) == {66, 43}
    assert url_from_options(options) == "http://pbx.example/prov/"


def test_a_raw_dhcp_message_as_dhcpcd_keeps_it():
    """dhcpcd 9 keeps the server's DHCPACK itself in /var/lib/dhcpcd/<if>.lease."""
    bootp = bytes(236) + b"\x63\x82\x53\x63"
    sub = b"\x01" + bytes([len(b"http://h/43/")]) + b"http://h/43/"
    data = (bootp + b"\x35\x01\x05" + b"\x2b" + bytes([len(sub)]) + sub
            + b"\x42\x0bh.example:6" + b"\x00" + b"\xff")
    options = parse_dhcp_message(data)
    assert options[66] == b"h.example:6" and options[53] == b"\x05"
    assert url_from_options(options) == "tftp://h.example:6/"       # 66 before 43
    del options[66]
    assert url_from_options(options) == "http://h/43/"             # 43's sub-option 1


def test_the_last_dhclient_lease_counts():
    text = ('lease {\n  option tftp-server-name "http://old/";\n}\n'
            'lease {\n  option tftp-server-name "http://new/";\n'
            '  option unknown-160 "https://custom/";\n}\n')
    assert parse_dhclient(text) == {66: '"http://new/"', 160: '"https://custom/"'}
    assert url_from_options(parse_dhclient(text)) == "https://custom/"


# ------------------------------------------------------------------ SIP PnP


class PnpServer(asyncio.DatagramProtocol):
    """A small SIP PnP server (no Debian package serves PnP): joined to 224.0.1.75:5060 in
    the test's namespace; answers a SUBSCRIBE with Event: ua-profile 200, then NOTIFYs the
    URL to the subscriber's Contact with Content-Type application/url."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.subscribes: list[str] = []
        self.notify_answered = asyncio.get_running_loop().create_future()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        text = data.decode(errors="replace")
        head = dict(line.split(":", 1) for line in text.split("\r\n")[1:] if ":" in line)
        head = {k.strip().lower(): v.strip() for k, v in head.items()}
        assert self.transport is not None
        if text.startswith("SUBSCRIBE "):
            self.subscribes.append(text)
            echoed = "".join(f"{k}: {head[k.lower()]}\r\n"
                             for k in ("Via", "From", "To", "Call-ID", "CSeq"))
            self.transport.sendto((f"SIP/2.0 200 OK\r\n{echoed}Expires: 0\r\n"
                                   "Content-Length: 0\r\n\r\n").encode(), addr)
            body = self.url + "\r\n"
            notify = (f"NOTIFY sip:{addr[0]}:{addr[1]} SIP/2.0\r\n"
                      f"Via: SIP/2.0/UDP 10.78.0.1:5060;branch=z9hG4bKpnp{len(self.subscribes)}\r\n"
                      f"From: {head['to']};tag=pnp\r\nTo: {head['from']}\r\n"
                      f"Call-ID: {head['call-id']}\r\nCSeq: 1 NOTIFY\r\n"
                      "Event: ua-profile\r\nSubscription-State: terminated;reason=timeout\r\n"
                      "Content-Type: application/url\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n{body}")
            self.transport.sendto(notify.encode(), addr)
        elif text.startswith("SIP/2.0 200") and "NOTIFY" in head.get("cseq", ""):
            if not self.notify_answered.done():
                self.notify_answered.set_result(text)


@contextlib.asynccontextmanager
async def pnp_lan(url: str):
    """A namespace with one interface (multicast route on it), a PnP server, a phone socket."""
    with netns.NetNs() as ns:
        ns.add_interface("dppnp")
        ns.ip("link", "set", "dppnp", "multicast", "on")        # a dummy has it off
        ns.ip("addr", "add", "10.78.0.1/24", "dev", "dppnp")
        ns.ip("route", "add", "224.0.0.0/4", "dev", "dppnp")

        def server_socket() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("", 5060))          # the group's datagrams and the answers to its NOTIFY
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                         struct.pack("4s4s", socket.inet_aton("224.0.1.75"),
                                     socket.inet_aton("10.78.0.1")))
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            s.setblocking(False)
            return s

        def phone_socket() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("10.78.0.1", 0))
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.78.0.1"))
            return s

        loop = asyncio.get_running_loop()
        transport, server = await loop.create_datagram_endpoint(
            lambda: PnpServer(url), sock=ns.call(server_socket))
        try:
            yield server, ns.call(phone_socket)
        finally:
            transport.close()


@requires(netns.unavailable())
async def test_pnp_subscribe_gets_the_url_from_the_notify():
    async with pnp_lan("http://10.78.0.1/pnp/") as (server, sock):
        url = await pnp_url(MAC, "T46S", "66.86.0.15", sock=sock, wait=3)
        assert url == "http://10.78.0.1/pnp/"
        [subscribe] = server.subscribes
        assert subscribe.startswith(f"SUBSCRIBE sip:MAC%3a{MAC}@224.0.1.75 SIP/2.0\r\n")
        assert ('Event: ua-profile;profile-type="device";vendor="Yealink";model="T46S";'
                'version="66.86.0.15"') in subscribe
        answer = await asyncio.wait_for(server.notify_answered, 2)     # the phone said 200
        assert answer.startswith("SIP/2.0 200 OK")


@requires(netns.unavailable())
async def test_pnp_without_a_server_gives_up_in_time():
    with netns.NetNs() as ns:
        ns.add_interface("dppnp")
        ns.ip("link", "set", "dppnp", "multicast", "on")        # a dummy has it off
        ns.ip("addr", "add", "10.78.0.1/24", "dev", "dppnp")
        ns.ip("route", "add", "224.0.0.0/4", "dev", "dppnp")
        sock = ns.call(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        ns.call(lambda: sock.bind(("10.78.0.1", 0)))
        started = time.monotonic()
        assert await pnp_url(MAC, "T46S", "66.86.0.15", sock=sock, wait=0.6) is None
        assert time.monotonic() - started < 2


@requires(netns.unavailable())
async def test_a_phone_without_server_or_lease_provisions_by_pnp(tmp_path, receiver):
    async with ProvServer({"y000000000000.cfg": GOOD}) as prov, \
            pnp_lan(prov.url) as (server, sock):
        phone = await start_phone(tmp_path, receiver.base, extra=(
            f"deskphone.provisioning.lease_files = {tmp_path / 'no-lease'}\n"))
        try:
            from deskphone.net import discovery
            phone.provisioner.discover = lambda: discovery.discover(
                phone.settings, MAC, pnp_socket=sock, system=False)
            assert (await autop(phone, receiver, expect_finish=True)).ok
            assert phone.settings["forward.busy.target"] == "266"
            assert len(server.subscribes) == 1
        finally:
            await phone.stop()
