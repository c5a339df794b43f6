"""The server's own sentences as codes: the English stored, the code and values beside it, and the values read
back out of a stored English text."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgys.recording import alerts, gaps
from kgys.said import Said, ngettext


@pytest.mark.parametrize(("said", "params", "english"), [
    (gaps.UNREACHABLE, {"line": "Connection refused"}, "camera unreachable: Connection refused"),
    (gaps.NO_DATA, {}, "no new data from the stream"),
    (alerts.NOT_RECORDED, {"detail": "down", "n": 1}, "down; 1 camera is not being recorded"),
    (alerts.NOT_RECORDED, {"detail": "down", "n": 3}, "down; 3 cameras are not being recorded"),
    (alerts.DELETE_FAILED, {"n": 0, "path": "/a"}, "0 expired segments could not be deleted from storage, e.g. /a"),
])
def test_a_sentence_is_stored_in_english_and_read_back(said: Said, params: dict[str, object], english: str) -> None:
    assert said.english(**params) == english
    assert said.match(english) == {k: str(v) for k, v in params.items()}
    assert said.code(**params) == {"code": said.msgid, "params": params}


def test_values_are_stored_as_json_values() -> None:
    sentence = Said("%(path)s: %(n)s of %(share)s")
    assert sentence.code(path=Path("/spool/1"), n=2, share=0.5) == {
        "code": "%(path)s: %(n)s of %(share)s", "params": {"path": "/spool/1", "n": 2, "share": 0.5}}


@pytest.mark.parametrize(("said", "text"), [
    (gaps.UNREACHABLE, "camera unreachable"),  # no value where one is needed
    (gaps.KILLED, "ffmpeg killed by signal nine"),  # a count that is not a number
    (gaps.NO_DATA, "no new data from the stream: x"),  # more than the sentence
    (gaps.UNREACHABLE, "camera unreachable: a\nlatest: b"),  # a value never spans lines
    (ngettext("%(n)s day", "%(n)s days"), "many days"),
])
def test_a_text_of_another_sentence_is_not_taken_for_it(said: Said, text: str) -> None:
    assert said.match(text) is None


def test_the_longer_sentence_is_the_more_particular() -> None:
    assert gaps.KILLED_LINE.literal() > gaps.KILLED.literal()
    assert gaps.KILLED.match("ffmpeg killed by signal 9: boom") is None
    assert gaps.KILLED_LINE.match("ffmpeg killed by signal 9: boom") == {"signal": "9", "line": "boom"}
