"""Budget alert mails through the real app and a real SMTP server: a key's owner is mailed
when its spend this period crosses 50 %, 80 % or 100 % of its budget — the highest crossed,
once per percentage and period, in their language — and the budget itself refuses the
request that would go over it."""

from __future__ import annotations

import asyncio
import json
import time
from email.header import decode_header, make_header

import httpx

from tests.conftest import APP_URL
from tests.helpers.pricing_check import cost_usd, platform_charge_nano
from tests.helpers.support import body_of, settled_money, wait_usage

# A request whose hold equals its charge: the fake reports as many input tokens as the body
# has bytes (the hold's input bound) and exactly max_tokens of output.
BODY = json.dumps(
    {"model": "gpt-4o", "max_tokens": 12, "messages": [{"role": "user", "content": "hi"}]},
    separators=(",", ":"),
).encode()
CHARGE = platform_charge_nano(cost_usd("gpt-4o", inp=len(BODY), out=12))


def ask(key: str) -> httpx.Response:
    return httpx.post(
        f"{APP_URL}/api/v1/chat/completions",
        content=BODY,
        headers={"Authorization": f"Bearer {key}", "content-type": "application/json"},
        timeout=30,
    )


def budget_mails(mailbox, address: str) -> list[str]:
    return [m["Subject"] for m in mailbox.to(address) if "budget" in m["Subject"]]


async def set_key(key_id: int, **values: object) -> None:
    from sqlalchemy import update

    from aiusage.db import session_scope
    from aiusage.models import ProxyKey

    async with session_scope() as db:
        await db.execute(update(ProxyKey).where(ProxyKey.id == key_id).values(**values))


async def key_row(key_id: int):
    from aiusage.db import session_scope
    from aiusage.models import ProxyKey

    async with session_scope() as db:
        return await db.get(ProxyKey, key_id)


async def test_budget_mails_once_per_percentage_and_period(fake, make_account, mailbox):
    from aiusage.db import session_scope
    from aiusage.services import keys

    fake.behavior.input_tokens, fake.behavior.output_tokens = len(BODY), 12
    account = await make_account(usd="5")
    async with session_scope() as db:
        await keys.update_proxy_key(
            db, account.id, account.key_id, budget_nano=2 * CHARGE, budget_period="day"
        )
    await asyncio.sleep(1.2)  # the proxy's key cache lives 1 s

    assert ask(account.proxy_key).status_code == 200  # 50 %
    await wait_usage(account.id, 1)
    first = mailbox.wait_for(account.email, "50% of its daily budget")
    assert '"test key"' in first["Subject"]
    assert "resets at" in body_of(first) and "/dashboard/keys" in body_of(first)

    assert ask(account.proxy_key).status_code == 200  # 100 %: one mail, for the highest
    await wait_usage(account.id, 2)
    mailbox.wait_for(account.email, "100% of its daily budget")
    refused = ask(account.proxy_key)
    assert refused.status_code == 402
    assert "daily budget" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) > 0
    time.sleep(1.0)  # the outbox sends every 0.1 s: a repeated mail would be here by now
    assert len(budget_mails(mailbox, account.email)) == 2
    key = await key_row(account.key_id)
    assert key.period_spent_nano == 2 * CHARGE and key.held_nano == 0

    # The next day (the stored period moved back by one): spend restarts, and 50 % mails again.
    await set_key(
        account.key_id,
        period_start_ms=key.period_start_ms - 86_400_000,
        budget_alerted_period_ms=key.budget_alerted_period_ms - 86_400_000,
    )
    assert ask(account.proxy_key).status_code == 200
    await wait_usage(account.id, 3)
    deadline = time.monotonic() + 15
    while len(budget_mails(mailbox, account.email)) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert budget_mails(mailbox, account.email)[-1].endswith("50% of its daily budget")
    key = await key_row(account.key_id)
    assert key.period_spent_nano == CHARGE
    balance, ledger = await settled_money(account.id)
    assert balance == ledger == 5_000_000_000 - 3 * CHARGE


async def test_no_mails_when_alerts_are_off_and_chinese_when_the_user_reads_chinese(
    fake, make_account, mailbox
):
    from sqlalchemy import update

    from aiusage.db import session_scope
    from aiusage.models import User
    from aiusage.services import keys

    fake.behavior.input_tokens, fake.behavior.output_tokens = len(BODY), 12
    quiet, chinese = await make_account(usd="5"), await make_account(usd="5")
    async with session_scope() as db:
        await keys.update_proxy_key(
            db, quiet.id, quiet.key_id, budget_nano=CHARGE, budget_period="week",
            budget_alerts="",
        )  # fmt: skip
        await keys.update_proxy_key(
            db, chinese.id, chinese.key_id, budget_nano=CHARGE, budget_period="month"
        )
        await db.execute(update(User).where(User.id == chinese.id).values(locale="zh"))
    await asyncio.sleep(1.2)
    assert ask(quiet.proxy_key).status_code == 200
    assert ask(chinese.proxy_key).status_code == 200
    mail = mailbox.wait_for(chinese.email, "100%")
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject == "密钥“test key”已用掉每月预算的 100%"
    assert "每月预算为" in body_of(mail)
    await wait_usage(quiet.id, 1)
    time.sleep(1.0)
    assert budget_mails(mailbox, quiet.email) == []
