"""The JSON API's voicemail document on a whole phone: a message-summary as the core keeps it."""

from __future__ import annotations

import aiohttp

from deskphone.core.voicemail import VoicemailChanged
from support.phone import registered_phone
from support.waiting import until
from test_api import TRUSTING, api, check, get

T = 1_796_000_000.0


async def test_every_enabled_accounts_mailbox_shows_heard_or_not(tmp_path, receiver):
    second = ("account.2.enable = 1\naccount.2.user_name = 101\n"
              "account.2.sip_server.1.address = pbx.test\n")
    async with registered_phone(tmp_path, receiver, extra=TRUSTING + second) as app:
        async with aiohttp.ClientSession() as s:
            doc = check(await get(s, api(app, "voicemail")), "voicemail")
            assert [(m["account"], m["waiting"], m["updated"]) for m in doc["voicemail"]] \
                == [(1, False, None), (2, False, None)]
            app.post(VoicemailChanged(2, True, new=3, old=1, urgent_new=1, at=T))
            await until(lambda: 2 in app.voicemail)
            doc = check(await get(s, api(app, "voicemail")), "voicemail")
    assert doc["voicemail"][1] == {"account": 2, "waiting": True, "new": 3, "old": 1,
                                   "urgent": {"new": 1, "old": 0},
                                   "updated": "2026-11-30T00:53:20Z"}
    assert doc["voicemail"][0]["waiting"] is False
