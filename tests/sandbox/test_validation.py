"""Everything Telegram rejects is rejected, seen through the real python-telegram-bot client."""

from __future__ import annotations

import aiohttp
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)
from telegram.error import BadRequest, EndPointNotFound

from sandbox import Sandbox, SimUser

from .conftest import png_bytes

USER = 2001


@pytest.fixture
def ann(sb: Sandbox) -> SimUser:
    return sb.user(USER, "Ann")


def _kb(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_unknown_method_is_404_and_names_are_case_insensitive(bot: Bot, ann: SimUser) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendMesage", api_kwargs={"chat_id": USER, "text": "x"})
    msg = await bot.do_api_request("SENDMESSAGE", api_kwargs={"chat_id": USER, "text": "x"})
    assert msg["text"] == "x"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBUserWarning")
async def test_unknown_parameter_and_missing_required(bot: Bot, sb: Sandbox, ann: SimUser) -> None:
    with pytest.raises(
        BadRequest, match=r'(?i)unknown parameter "parse_mod" for method sendmessage'
    ):
        await bot.send_message(USER, "hi", api_kwargs={"parse_mod": "HTML"})
    with pytest.raises(BadRequest, match="Text is required"):
        await bot.do_api_request("sendMessage", api_kwargs={"chat_id": USER})
    with pytest.raises(BadRequest, match='"disable_notification" must be of type boolean'):
        await bot.send_message(USER, "hi", api_kwargs={"disable_notification": "maybe"})
    failed = [c for c in sb.calls_to("sendMessage") if not c.ok]
    assert [c.status for c in failed] == [400, 400, 400]
    assert (
        failed[0].description == 'Bad Request: unknown parameter "parse_mod" for method sendMessage'
    )


async def test_string_fields_stay_strings_and_json_bodies_work(sb: Sandbox, ann: SimUser) -> None:
    url = f"{sb.base_url}{sb.token}/sendMessage"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data={"chat_id": str(USER), "text": "123"}) as r:
            form = await r.json()
        async with http.post(url, json={"chat_id": USER, "text": "007", "parse_mode": "html"}) as r:
            body = await r.json()
        async with http.get(url, params={"chat_id": str(USER), "text": ""}) as r:
            empty = await r.json()
    assert form["ok"] and form["result"]["text"] == "123"
    assert sb.calls_to("sendMessage")[0].params == {"chat_id": USER, "text": "123"}
    assert body["ok"] and body["result"]["text"] == "007"
    assert body["result"]["date"] < 10**10  # seconds, not milliseconds
    assert empty == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }


async def test_chat_not_found_and_text_limits(bot: Bot, ann: SimUser) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999_999, "anyone?")
    assert (await bot.send_message(USER, "a" * 4096)).text == "a" * 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "a" * 4097)
    # 4096 visible characters wrapped in tags is fine: the limit is after entity parsing.
    msg = await bot.send_message(USER, "<b>" + "a" * 4000 + "</b><i>" + "b" * 96 + "</i>", "HTML")
    assert msg.text is not None
    assert len(msg.text) == 4096 and [e.type for e in msg.entities] == ["bold", "italic"]
    # Telegram counts code points, not UTF-16 units (measured live, FerroxLabs/wayland#934):
    # 4,096 emoji outside the BMP (8,192 UTF-16 units) are accepted, 4,097 refused.
    assert (await bot.send_message(USER, "😀" * 4096)).text == "😀" * 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "😀" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Unsupported parse_mode"):
        await bot.send_message(USER, "x", parse_mode="Textile")


async def test_caption_limit(bot: Bot, ann: SimUser) -> None:
    photo = png_bytes()
    ok = await bot.send_photo(USER, photo, caption="c" * 1024)
    assert ok.caption is not None and len(ok.caption) == 1024
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(USER, photo, caption="c" * 1025)


async def test_callback_data_is_limited_in_bytes(bot: Bot, ann: SimUser) -> None:
    await bot.send_message(USER, "ok", reply_markup=_kb("é" * 32))  # 64 bytes
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=_kb("é" * 32 + "a"))  # 65 bytes
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "x", reply_markup=_kb("a" * 65))
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(
            USER, "x", api_kwargs={"reply_markup": '{"inline_keyboard": [[{"text": "t"}]]}'}
        )
    both = '{"inline_keyboard": [[{"text": "t", "callback_data": "a", "url": "https://x.org"}]]}'
    with pytest.raises(BadRequest, match="exactly one of the optional fields"):
        await bot.send_message(USER, "x", api_kwargs={"reply_markup": both})


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>unclosed", 'can\'t find end tag corresponding to start tag "b"'),
        ("1 < 2", 'unsupported start tag "" at byte offset 2'),
        ("<foo>x</foo>", 'unsupported start tag "foo" at byte offset 0'),
        ("<b><i>x</b></i>", 'unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("a&nbsp;b", 'unsupported html entity "&nbsp;" at byte offset 1'),
        ("R&D", 'character "&" at byte offset 1 must be escaped as "&amp;"'),
        ("x</b>", "unexpected end tag at byte offset 1"),
        ('<span class="x">s</span>', 'tag "span" must have class "tg-spoiler"'),
        ("<a href=x", "unclosed start tag at byte offset 0"),
    ],
)
async def test_malformed_html_is_rejected(bot: Bot, ann: SimUser, html: str, reason: str) -> None:
    with pytest.raises(BadRequest) as info:
        await bot.send_message(USER, html, parse_mode="HTML")
    # PTB capitalizes the description once it strips "Bad Request: ".
    assert info.value.message.lower() == f"can't parse entities: {reason}".lower()


async def test_valid_html_gives_entities(bot: Bot, ann: SimUser) -> None:
    text = (
        '<b>B</b> <strong>S</strong> <i>I</i> <u>U</u> <s>X</s> <span class="tg-spoiler">sp</span> '
        '<tg-spoiler>t</tg-spoiler> <a href="https://example.org/?a=1&amp;b=2">L</a> '
        '<code>c</code> <pre><code class="language-python">p</code></pre> '
        "<blockquote expandable>q</blockquote> &lt;&gt;&amp;&quot;&#128512;&#x41;"
    )
    msg = await bot.send_message(USER, text, parse_mode="HTML")
    assert msg.text is not None and msg.text.endswith('<>&"😀A')
    types = [e.type for e in msg.entities]
    assert types == [
        "bold",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "spoiler",
        "text_link",
        "code",
        "pre",
        "expandable_blockquote",
    ]
    link = next(e for e in msg.entities if e.type == "text_link")
    assert link.url == "https://example.org/?a=1&b=2"
    assert next(e for e in msg.entities if e.type == "pre").language == "python"
    # Markdown is passed through unvalidated (by design).
    assert (await bot.send_message(USER, "*x", parse_mode="MarkdownV2")).text == "*x"


async def test_edits_deletes_and_callback_answers(bot: Bot, sb: Sandbox, ann: SimUser) -> None:
    msg = await bot.send_message(USER, "v1", reply_markup=_kb("k"))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("v1", USER, msg.message_id, reply_markup=_kb("k"))
    edited = await bot.edit_message_text("v2", USER, msg.message_id)
    assert isinstance(edited, Message)  # PTB types it Message | True (True: inline messages)
    assert edited.text == "v2" and edited.reply_markup is None and edited.edit_date
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER, 4242)
    with pytest.raises(BadRequest, match="There is no caption in the message to edit"):
        await bot.edit_message_caption(USER, msg.message_id, caption="c")
    await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=_kb("k2"))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=_kb("k2"))
    assert [(m.kind, m.text) for m in ann.drain()] == [
        ("sent", "v1"),
        ("edited", "v2"),
        ("edited", "v2"),
    ]
    assert ann.inbox[0].buttons == [[("b", "k2")]]
    assert await bot.delete_message(USER, msg.message_id)
    assert ann.inbox == []
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(USER, msg.message_id)

    shown = await bot.send_message(USER, "pick", reply_markup=_kb("go"))
    query = await ann.press("go", message_id=shown.message_id)
    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.answer_callback_query(query["id"], text="x" * 201)
    assert await bot.answer_callback_query(query["id"], text="ok")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query["id"])  # only one answer per query
    old = await ann.press("b")
    sb._queries[old["id"]].created -= 15 * 60 + 1
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(old["id"])
    with pytest.raises(LookupError, match="available: \\[\\['b'\\]\\]"):
        await ann.press("nope")


async def test_photo_document_and_media_group(bot: Bot, sb: Sandbox, ann: SimUser) -> None:
    png = png_bytes(5, 4)
    msg = await bot.send_photo(USER, png, caption="<b>chart</b>", parse_mode="HTML")
    assert (msg.photo[-1].width, msg.photo[-1].height) == (5, 4) and msg.caption == "chart"
    f = await bot.get_file(msg.photo[-1].file_id)
    assert bytes(await f.download_as_bytearray()) == png
    assert ann.inbox[-1].photo_bytes == png and ann.inbox[-1].method == "sendPhoto"
    again = await bot.send_photo(USER, msg.photo[-1].file_id)  # re-send by file_id
    assert again.photo[-1].file_id == msg.photo[-1].file_id
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(USER, b"not an image at all")
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(USER, "no-such-file-id")

    doc = await bot.send_document(USER, b"a,b\n1,2\n", filename="report.csv")
    assert doc.document is not None and doc.document.file_name == "report.csv"
    assert ann.inbox[-1].document_bytes == b"a,b\n1,2\n" and ann.inbox[-1].filename == "report.csv"

    album = await bot.send_media_group(
        USER, [InputMediaPhoto(png, caption="one"), InputMediaPhoto(png_bytes(2, 2))]
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    assert [m.caption for m in album] == ["one", None]
    with pytest.raises(BadRequest, match="Not enough media"):
        await bot.send_media_group(USER, [InputMediaPhoto(png)])
    with pytest.raises(BadRequest, match="Too many media"):
        await bot.send_media_group(USER, [InputMediaPhoto(png)] * 11)
    with pytest.raises(BadRequest, match="Document can't be mixed"):
        await bot.send_media_group(
            USER, [InputMediaPhoto(png), InputMediaDocument(b"x", filename="x.txt")]
        )
    sent = sb.calls_to("sendMediaGroup")[0]
    assert sent.ok and all(m["media"].startswith("attach://") for m in sent.params["media"])


async def test_commands_chat_info_and_updates(bot: Bot, sb: Sandbox, ann: SimUser) -> None:
    from telegram import BotCommand, BotCommandScopeAllPrivateChats

    me = await bot.get_me()
    assert me.is_bot and me.id == sb.bot_id and me.username == sb.bot_username
    assert me.can_join_groups and not me.can_read_all_group_messages

    await bot.set_my_commands([BotCommand("start", "Start")])
    await bot.set_my_commands(
        [BotCommand("report", "Отчёт")], scope=BotCommandScopeAllPrivateChats(), language_code="ru"
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    ru = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    assert [c.description for c in ru] == ["Отчёт"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await bot.set_my_description("Weekly reports")
    assert (await bot.get_my_description()).description == "Weekly reports"
    chat = await bot.get_chat(USER)
    assert chat.type == "private" and chat.first_name == "Ann"
    member = await bot.get_chat_member(USER, USER)
    assert member.status == "member"
    assert await bot.send_chat_action(USER, "typing")
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(USER, "dancing")

    # Long polling, allowed_updates and confirmation by offset.
    await ann.send("hello")
    shown = await bot.send_message(USER, "q", reply_markup=_kb("d"))
    await ann.press("d", message_id=shown.message_id)
    only_cb = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query.data if u.callback_query else None for u in only_cb] == [
        "d"
    ]  # the message was dropped
    assert sb.pending_updates == 1
    await bot.get_updates(offset=only_cb[-1].update_id + 1, timeout=0, allowed_updates=[])
    assert sb.pending_updates == 0
    assert (await bot.get_webhook_info()).pending_update_count == 0
