"""Unit checks of the parser, the spec decoder and the limiter, without HTTP."""

from __future__ import annotations

import sys

import pytest

from sandbox.errors import SandboxError
from sandbox.html import HtmlError, parse_html, utf16_len
from sandbox.limits import RateLimiter, check_text, sniff_image
from sandbox.spec import Upload, load_spec
from sandbox.users import command_entities, make_png


def test_entity_offsets_are_utf16() -> None:
    text, ents = parse_html("😀 <b>Кыр</b> <i>x</i>")
    assert text == "😀 Кыр x"
    assert ents == [
        {"offset": 3, "length": 3, "type": "bold"},
        {"offset": 7, "length": 1, "type": "italic"},
    ]
    assert utf16_len("😀a") == 3


def test_nested_and_attribute_entities() -> None:
    text, ents = parse_html("<a href='tg://user?id=7'><b>me</b></a>&#x1F600;")
    assert text == "me😀"
    assert {e["type"] for e in ents} == {"text_mention", "bold"}
    with pytest.raises(HtmlError, match="Expected equal sign"):
        parse_html("<a href>x</a>")
    with pytest.raises(HtmlError, match="Invalid character reference"):
        parse_html("&#xD800;")


def test_text_is_trimmed_like_telegram() -> None:
    plain, ents = check_text("  <b> hi </b>  ", "HTML", None)
    assert plain == "hi" and ents == [{"offset": 0, "length": 2, "type": "bold"}]


def test_spec_decodes_by_declared_type() -> None:
    spec = load_spec()
    method = spec.method("SendMessage")
    assert method is not None and method.name == "sendMessage"
    params = spec.decode(
        method,
        {
            "chat_id": "-100123",
            "text": "[1, 2]",
            "disable_notification": "true",
            "reply_markup": '{"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}',
        },
        {},
    )
    assert params["chat_id"] == -100123 and params["text"] == "[1, 2]"
    assert params["disable_notification"] is True
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"
    with pytest.raises(SandboxError, match="can't parse reply keyboard markup JSON object"):
        spec.decode(method, {"chat_id": "1", "text": "x", "reply_markup": "nope"}, {})
    with pytest.raises(SandboxError, match='unknown parameter "stray"'):
        spec.decode(
            method, {"chat_id": "1", "text": "x"}, {"stray": Upload("stray", None, None, b"")}
        )


def test_spec_is_loaded_lazily() -> None:
    import subprocess

    code = "import sandbox, sandbox.spec as s; print(s.load_spec.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_rate_limiter_windows() -> None:
    now = [100.0]
    rl = RateLimiter(clock=lambda: now[0])
    for _ in range(20):
        rl.check(-1, "supergroup")
    with pytest.raises(SandboxError) as info:
        rl.check(-1, "supergroup")
    assert info.value.status == 429 and info.value.retry_after == 60
    now[0] += 30
    with pytest.raises(SandboxError) as info:
        rl.check(-1, "supergroup")
    assert info.value.retry_after == 30
    now[0] += 30.01
    rl.check(-1, "supergroup")  # the first minute has rolled off


def test_rate_limiter_global_window_is_configurable_rolling_and_counts_its_429s() -> None:
    now = [100.0]
    rl = RateLimiter(global_per_second=3, private_chat_per_second=1, clock=lambda: now[0])
    for chat in (1, 2, 3):
        rl.check(chat, "private")
        now[0] += 0.25
    with pytest.raises(SandboxError) as info:
        rl.check(4, "private")  # 3 in the last second, wherever the second starts
    assert info.value.status == 429
    with pytest.raises(SandboxError):
        rl.check(1, "private")
    now[0] += 0.26  # 1.01 s after the first: it has left the window
    rl.check(4, "private")
    with pytest.raises(SandboxError):
        rl.check(2, "private")  # the second is still in the window (0.76 s ago)
    now[0] += 0.25
    with pytest.raises(SandboxError):
        rl.check(4, "private")  # the window has room, but chat 4 had one 0.25 s ago
    assert rl.refused == {"global": 3, "group": 0, "private": 1}
    rl.reset()
    assert rl.refused == {"global": 0, "group": 0, "private": 0}


def test_helpers() -> None:
    assert sniff_image(make_png(7, 3)) == ("image/png", 7, 3)
    assert sniff_image(b"GIF89a") is None
    assert command_entities("/report@nfpbot now") == [
        {"type": "bot_command", "offset": 0, "length": 14}
    ]
    assert command_entities("hello /start") == []
