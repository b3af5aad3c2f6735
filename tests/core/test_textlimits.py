"""The one length rule (UTF-16 units, safe whatever Telegram counts) and the line splitter."""

from __future__ import annotations

from bot.core.textlimits import MESSAGE_LIMIT, is_blank, split_html, tg_len, visible_len


def test_lengths_are_never_below_the_code_point_count() -> None:
    assert tg_len("abc") == 3
    assert tg_len("😀") == 2 and len("😀") == 1
    assert visible_len("<b>a&amp;b</b>") == 3  # what the reader sees, not the HTML source
    assert visible_len("&lt;" * 1000) == 1000


def test_split_keeps_lines_whole_and_each_piece_within_the_limit() -> None:
    lines = [f"<b>label {i}</b>: " + "😀" * 900 for i in range(6)]
    pieces = split_html("\n".join(lines))
    assert len(pieces) > 1
    assert all(visible_len(p) <= MESSAGE_LIMIT for p in pieces)
    assert "\n".join(pieces) == "\n".join(lines)  # nothing lost, no line cut


def test_a_line_longer_than_a_message_is_cut_between_characters_never_inside_an_entity() -> None:
    pieces = split_html("<i>" + "&amp;" * 5000 + "</i>")
    assert [visible_len(p) for p in pieces] == [MESSAGE_LIMIT, 5000 - MESSAGE_LIMIT]
    assert pieces[0] == "<i>" + "&amp;" * MESSAGE_LIMIT + "</i>"
    assert pieces[1] == "<i>" + "&amp;" * (5000 - MESSAGE_LIMIT) + "</i>"


def test_a_tag_open_across_a_cut_is_closed_and_reopened() -> None:
    """A multi-line free text in bold on the review: each piece must parse on its own."""
    answer = "\n".join(["line " + "z" * 1000] * 6)
    pieces = split_html(f"Head\n<b>Developments</b>: <b>{answer}</b>\nEnd")
    assert len(pieces) > 1
    for piece in pieces:
        assert piece.count("<b>") == piece.count("</b>"), piece[:80]
        assert visible_len(piece) <= MESSAGE_LIMIT
    assert pieces[1].startswith("<b>")


def test_blank_means_nothing_visible() -> None:
    assert is_blank("\u200b\u200b") and is_blank(" \u2060\ufeff\u200d ") and is_blank("")
    assert not is_blank("\u200ba")
