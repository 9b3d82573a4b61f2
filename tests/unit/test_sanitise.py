"""hotline.sanitise: text PostgreSQL can store, and spreadsheet cells that cannot run as formulas."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.sanitise import SanitisedText, neutralise_cell, restore_cell, sanitise_text


def test_nul_and_control_characters_are_dropped_newline_and_tab_kept() -> None:
    out = sanitise_text("老板\x00拖欠\x07工资\x1b[31m\r\n第二行\t表格\x7f\x85")
    assert out.text == "老板拖欠工资[31m\n第二行\t表格"
    assert not out.truncated


def test_lone_surrogates_become_replacement_characters() -> None:
    out = sanitise_text("坏\ud800字\udfff")
    assert out.text == "坏\ufffd字\ufffd"
    out.text.encode("utf-8")  # storable: PostgreSQL's UTF-8 insert no longer fails
    assert sanitise_text("\ud83d\ude00").text == "😀"  # a pair split into two code points is one emoji


def test_nfc() -> None:
    assert sanitise_text("e\u0301").text == "\u00e9"


def test_long_text_is_capped_and_says_so() -> None:
    out = sanitise_text("欠" * 5000)
    assert out.text == "欠" * 4000 and out.truncated
    assert sanitise_text("欠" * 10, max_chars=5) == SanitisedText("欠" * 5, truncated=True)
    assert not sanitise_text("欠" * 4000).truncated


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec=None)), st.integers(min_value=0, max_value=50))
def test_sanitise_never_raises_is_storable_and_idempotent(text: str, max_chars: int) -> None:
    out = sanitise_text(text, max_chars=max_chars)
    assert len(out.text) <= max_chars
    out.text.encode("utf-8")
    assert "\x00" not in out.text
    assert all(c in "\n\t" or unicodedata.category(c) != "Cc" for c in out.text)
    assert unicodedata.is_normalized("NFC", out.text)
    again = sanitise_text(out.text, max_chars=max_chars)
    assert again.text == out.text and not again.truncated


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x","点我")', '\'=HYPERLINK("http://x","点我")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("老板欠薪", "老板欠薪"),
        ("", ""),
    ],
)
def test_neutralise_cell(cell: str, safe: str) -> None:
    assert neutralise_cell(cell) == safe
    assert restore_cell(neutralise_cell(cell)) == cell


def test_restore_leaves_ordinary_apostrophes() -> None:
    assert restore_cell("'老板'说") == "'老板'说"
