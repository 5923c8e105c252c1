import math

import pytest

from affectkit.text import MAX_TEXT_CHARS, check_text, clean_for_output


@pytest.mark.parametrize("item,reason", [
    (None, "missing text"), (math.nan, "missing text"), ("", "empty text"),
    ("  \t\n", "text is only whitespace"), (42, "expected text, got int 42"), (["a"], "expected text, got list"),
    (b"\xff\xfeabc", "invalid UTF-8: byte 0xff at offset 0"),
    ("ok\udcffbad", "invalid UTF-8: byte 0xff at character 2"),
])
def test_bad_items_get_a_reason(item, reason):
    text, err = check_text(item)
    assert text is None and err.startswith(reason)


def test_good_items_pass():
    assert check_text("fine") == ("fine", None)
    assert check_text("caf\u00e9".encode()) == ("caf\u00e9", None)


def test_oversized_text_is_refused_with_its_size():
    text, err = check_text("a" * (MAX_TEXT_CHARS + 1))
    assert text is None and "over the limit" in err


def test_clean_for_output_replaces_undecodable_bytes():
    assert clean_for_output("a\udcffb") == "a\ufffdb"
    assert clean_for_output(3) == 3
