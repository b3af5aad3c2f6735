"""What Telegram refuses is told to whoever caused it, and the state says so (issue 6, 15).

A clarification the NFP never received must not stand as "asked"; an answer the secretariat
never received must not stand as "answered". The refusal is injected in the sandbox (a 400
as Telegram gives for an over-long text, a 403 for a blocked bot), so these tests hold
whatever limits are checked up front.
"""

from __future__ import annotations

from sandbox import SimUser
from tests.e2e.test_weekly_report import confirm_report
from tests.support import BotEnv, make_nfp, next_sent

TOO_LONG = "Bad Request: message is too long"


async def _drain(env: BotEnv) -> None:
    await env.outbox.drain()
    await env.sandbox.settle()


async def _clarify(env: BotEnv, admin: SimUser) -> None:
    sent = await env.say(admin, "/clarify MNG Why did hospitalisations rise?")
    assert "Sent to the NFPs of Mongolia" in sent.text
    admin.drain()
    await _drain(env)


async def test_refused_clarification_is_reported_to_the_admin(env: BotEnv) -> None:
    nfp = await make_nfp(env, 1501, "MNG", name="Bold")
    admin = env.admin()
    await confirm_report(env, nfp)
    nfp.drain()
    env.sandbox.inject("sendMessage", status=400, description=TOO_LONG, chat_id=nfp.id, times=1)
    await _clarify(env, admin)

    assert nfp.drain() == []
    [notice] = admin.drain()
    assert "NOT delivered" in notice.text and "Bold" in notice.text
    assert "Mongolia, week" in notice.text and "longer than Telegram allows" in notice.text
    status = await env.say(admin, "/status")
    assert "clarification asked" not in status.text
    assert "clarification not delivered" in status.text


async def test_clarification_to_a_blocked_nfp_is_reported_to_the_admin(env: BotEnv) -> None:
    nfp = await make_nfp(env, 1502, "MNG", name="Bold")
    admin = env.admin()
    await confirm_report(env, nfp)
    nfp.block()
    await _clarify(env, admin)

    [notice] = admin.drain()
    assert "NOT delivered" in notice.text and "blocked the bot" in notice.text
    status = await env.say(admin, "/status")
    assert "clarification not delivered" in status.text


async def test_refused_answer_is_reported_to_the_nfp_and_the_question_reopens(
    env: BotEnv,
) -> None:
    nfp = await make_nfp(env, 1503, "MNG", name="Bold")
    admin = env.admin()
    await confirm_report(env, nfp)
    await _clarify(env, admin)
    assert "Why did hospitalisations rise?" in nfp.inbox[-1].text
    nfp.drain()
    await nfp.press("Answer")
    await next_sent(nfp)
    env.sandbox.inject("sendMessage", status=400, description=TOO_LONG, chat_id=admin.id, times=1)
    thanks = await env.say(nfp, "A new variant reached the capital.")
    assert "sent to the secretariat" in thanks.text
    nfp.drain()
    await _drain(env)

    assert not any("A new variant" in m.text for m in admin.drain())
    [notice] = nfp.drain()
    assert "NOT delivered" in notice.text and "longer than Telegram allows" in notice.text
    status = await env.say(admin, "/status")
    assert "clarification asked" in status.text  # the secretariat still waits for an answer

    nfp.drain()
    await nfp.press("Answer")  # the question's own button works again
    await next_sent(nfp)
    await env.say(nfp, "A new variant, in short.")
    await _drain(env)
    assert "A new variant, in short." in admin.inbox[-1].text


async def test_a_question_one_nfp_received_still_stands(env: BotEnv) -> None:
    main = await make_nfp(env, 1504, "MNG", name="Bold")
    alt = await make_nfp(env, 1505, "MNG", kind="alternate", name="Saraa")
    admin = env.admin()
    await confirm_report(env, main)
    alt.block()
    await _clarify(env, admin)

    assert "Why did hospitalisations rise?" in main.inbox[-1].text
    [notice] = admin.drain()
    assert "NOT delivered to Saraa" in notice.text and "blocked the bot" in notice.text
    status = await env.say(admin, "/status")
    assert "clarification asked" in status.text  # Bold has it and can answer
