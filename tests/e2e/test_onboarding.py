"""Onboarding end to end: real Application ↔ HTTP ↔ sandbox Bot API, real SQLite, real catalogs."""

from __future__ import annotations

import re
from datetime import timedelta

from sandbox import SimUser
from storage import audit, invites, people
from tests.support import BotEnv

LINK = re.compile(r"https://t\.me/(\w+)\?start=([\w-]+)")


async def invite_code(env: BotEnv, command: str = "/invite KGZ") -> str:
    msg = await env.say(env.admin(), command)
    match = LINK.search(msg.text)
    assert match, msg.text
    assert match.group(1) == env.sandbox.bot_username
    return match.group(2)


async def test_nfp_joins_with_invite_and_chooses_russian(env: BotEnv) -> None:
    code = await invite_code(env)
    nfp = env.sandbox.user(501, "Айгуль", language_code="ru")
    msg = await env.say(nfp, f"/start {code}")
    # Telegram app in Russian: the bot answers in Russian before any choice is made
    assert "Кыргызстан" in msg.text
    assert msg.buttons == [[("English", "lang:en"), ("Русский", "lang:ru")]]

    welcome = await env.press(nfp, "Русский")
    # the keyboard is removed from the question first, then the welcome arrives
    while welcome.kind == "edited":
        welcome = await nfp.next_message()
    assert "по-русски" in welcome.text
    assert "понедельник" in welcome.text  # weekday of the prompt, from CLDR
    # the zone by its CLDR name in the reader's language, not the IANA id
    assert "времени, Киргизия" in welcome.text and "Asia/Bishkek" not in welcome.text
    assert "Кыргызстан" in welcome.text

    person = await people.get(env.svc.db, 501)
    assert person is not None and person.language == "ru"
    [assignment] = await people.assignments_of(env.svc.db, 501)
    assert (assignment.iso3, assignment.kind) == ("KGZ", "main")


async def test_alternate_invite_from_buttons_in_english(env: BotEnv) -> None:
    admin = env.admin()
    msg = await env.say(admin, "/invite")
    assert msg.text == "Which country is the invitation for?"
    assert ("Kazakhstan", "invc:KAZ") in [b for row in msg.buttons for b in row]
    edited = await env.press(admin, "Kazakhstan")
    assert "Kazakhstan" in edited.text and edited.kind == "edited"
    await admin.press("Alternate")
    link = await admin.next_message()
    while link.kind == "edited":
        link = await admin.next_message()
    found = LINK.search(link.text)
    assert found is not None
    code = found.group(2)
    assert "alternate" in link.text
    # the expiry to the minute, in the secretariat's zone, named (7 days from Tue 24 Nov 12:00)
    assert "expires on December 1, 2026, 5:00\u202fPM (Uzbekistan Standard Time):" in link.text

    nfp = env.sandbox.user(502, "Dana", language_code="en")
    msg = await env.say(nfp, f"/start {code}")
    assert "alternate National Focal Point for Kazakhstan" in msg.text
    welcome = await env.press(nfp, "English")
    while welcome.kind == "edited":
        welcome = await nfp.next_message()
    assert "Monday" in welcome.text and "(Kazakhstan Time)" in welcome.text
    assert "Asia/Almaty" not in welcome.text
    [a] = await people.assignments_of(env.svc.db, 502)
    assert (a.iso3, a.kind) == ("KAZ", "alternate")


async def test_expired_code_is_refused(env: BotEnv) -> None:
    code = await invite_code(env)
    env.clock.advance(timedelta(days=7, minutes=1))
    nfp = env.sandbox.user(503, "Bat", language_code="en")
    msg = await env.say(nfp, f"/start {code}")
    assert "expired" in msg.text
    assert await people.assignments_of(env.svc.db, 503) == []
    [entry] = await audit.entries(env.svc.db, action="refused")
    assert entry.detail["reason"] == "expired" and entry.actor == 503


async def test_reused_code_is_refused_even_after_restart(env: BotEnv) -> None:
    code = await invite_code(env)
    first = env.sandbox.user(504, "First")
    await env.say(first, f"/start {code}")
    await env.restart()  # a new Application on the same database file
    second = env.sandbox.user(505, "Second", language_code="ru")
    msg = await env.say(second, f"/start {code}")
    assert "уже использована" in msg.text
    assert await people.assignments_of(env.svc.db, 505) == []
    used = await invites.get(env.svc.db, code)
    assert used is not None and used.used_by == 504
    # the first NFP, their role, language and assignment survived the restart too
    [a] = await people.assignments_of(env.svc.db, 504)
    assert a.iso3 == "KGZ"
    from bot.people.roles import Role, role_of

    assert await role_of(env.svc, 504) is Role.NFP
    assert await role_of(env.svc, env.admin().id) is Role.ADMIN


async def test_unknown_code_and_stranger_are_refused_and_logged(env: BotEnv) -> None:
    stranger = env.sandbox.user(506, "Eve")
    msg = await env.say(stranger, "hello?")
    assert "I don't know you yet" in msg.text
    msg = await env.say(stranger, "/start not-a-real-code")
    assert "not valid" in msg.text
    reasons = {e.detail["reason"] for e in await audit.entries(env.svc.db, action="refused")}
    assert reasons == {"stranger", "unknown"}


async def test_non_admin_cannot_use_admin_commands(env: BotEnv) -> None:
    user = env.sandbox.user(507, "Mallory", language_code="en")
    await env.say(user, "/start")
    for command in ("/invite KGZ", "/nfps", "/revoke"):
        msg = await env.say(user, command)
        assert msg.text == "This command is for the secretariat's administrators only."
    refused = await audit.entries(env.svc.db, action="refused")
    assert sorted(e.target or "" for e in refused) == ["invite", "nfps", "revoke"]
    help_text = (await env.say(user, "/help")).text
    assert "/language" in help_text and "/invite" not in help_text and "/report" not in help_text
    admin_help = (await env.say(env.admin(), "/help")).text
    assert "/invite" in admin_help and "/status" in admin_help
    assert await invites.pending(env.svc.db, env.clock.now()) == []


async def test_language_switch_changes_later_replies(env: BotEnv) -> None:
    user = env.sandbox.user(508, "Ivan", language_code="en")
    msg = await env.say(user, "/start")
    assert "choose your language" in msg.text
    await user.press("English")
    await env.quiet(user)
    msg = await env.say(user, "/language")
    await user.press("Русский")
    replies = [await user.next_message(), await user.next_message()]
    assert any("по-русски" in m.text for m in replies)
    msg = await env.say(user, "/help")
    assert msg.text.startswith("Команды:")
    msg = await env.say(user, "/nonsense")
    assert "Я не знаю команду /nonsense" in msg.text


async def test_stickers_are_refused_politely(env: BotEnv) -> None:
    user: SimUser = env.sandbox.user(509, "Sam")
    await user.send_sticker()
    msg = await user.next_message()
    assert "only read text" in msg.text


async def test_admin_lists_and_revokes_nfps(env: BotEnv) -> None:
    code = await invite_code(env, "/invite MNG")
    nfp = env.sandbox.user(510, "Bold", username="bold")
    await env.say(nfp, f"/start {code}")
    await env.press(nfp, "English")
    await env.quiet(nfp)
    admin = env.admin()
    listing = await env.say(admin, "/nfps")
    assert "Mongolia" in listing.text and "Bold (@bold) — main, English" in listing.text
    assert "Afghanistan (AFG) — no NFP yet" in listing.text

    old_menu = await env.say(admin, "/revoke")
    menu = await env.say(admin, "/revoke")
    label = menu.buttons[0][0][0]
    assert label.startswith("MNG · Bold")
    confirm = await env.press(admin, label)
    assert "cannot be undone" in confirm.text
    done = await env.press(admin, "Yes, remove")
    assert "no longer an NFP of Mongolia" in done.text
    assert await people.assignments_of(env.svc.db, 510) == []
    # the older menu's button is now stale: a clear answer, not an error
    await admin.press(label, message_id=old_menu.message_id)
    await admin.next_message()  # the old menu turns into the confirmation
    await admin.press("Yes, remove", message_id=old_menu.message_id)
    await env.sandbox.settle()
    assert admin.callback_answers[-1]["text"] == "This button is no longer valid."
    [entry] = await audit.entries(env.svc.db, action="revoke")
    assert entry.actor == env.admin().id and entry.target == "MNG"
