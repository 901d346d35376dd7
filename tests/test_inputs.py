"""Tests of crossrank.inputs: check_query and check_texts."""

from __future__ import annotations

import pytest

from crossrank.inputs import check_query, check_texts


@pytest.mark.parametrize("query", ["What do pandas eat?", "q", "  padded  ", "é 漢字"])
def test_check_query_returns_a_valid_query_unchanged(query: str) -> None:
    assert check_query(query) == query


@pytest.mark.parametrize(
    ("bad", "type_name"), [(None, "NoneType"), (5, "int"), (b"q", "bytes"), (["q"], "list")]
)
def test_check_query_rejects_a_non_string_naming_where_and_type(bad: object, type_name: str) -> None:
    with pytest.raises(TypeError) as error:
        check_query(bad)
    assert str(error.value) == f"query must be a string, got {type_name}"


@pytest.mark.parametrize("blank", ["", " ", "\n\t  "])
def test_check_query_rejects_an_empty_or_blank_query(blank: str) -> None:
    with pytest.raises(ValueError) as error:
        check_query(blank)
    message = str(error.value)
    assert message.startswith("query is empty")
    assert "needs some text" in message


def test_check_query_messages_use_the_given_where() -> None:
    with pytest.raises(TypeError, match=r"^queries\[3\] must be a string, got float$"):
        check_query(1.5, where="queries[3]")
    with pytest.raises(ValueError, match=r"^body\.query is empty"):
        check_query("", where="body.query")


def test_check_texts_accepts_lists_and_tuples_and_empty_strings() -> None:
    assert check_texts(["a", "", "b"]) == ["a", "", "b"]
    assert check_texts(("a", "")) == ["a", ""]
    assert check_texts([]) == []


def test_check_texts_returns_a_new_list_and_leaves_the_input_alone() -> None:
    texts = ["first", "", "third"]
    result = check_texts(texts)
    assert result == ["first", "", "third"]
    assert result is not texts
    result.append("extra")
    result[0] = "changed"
    assert texts == ["first", "", "third"]


def test_check_texts_from_a_tuple_returns_a_list() -> None:
    result = check_texts(("a", "b"))
    assert type(result) is list


@pytest.mark.parametrize(
    ("bad", "type_name"),
    [("one document", "str"), (b"bytes", "bytes"), (None, "NoneType"), ({"a": 1}, "dict"), (7, "int")],
)
def test_check_texts_rejects_a_non_sequence_or_a_bare_string(bad: object, type_name: str) -> None:
    with pytest.raises(TypeError) as error:
        check_texts(bad)
    assert str(error.value) == f"texts must be a list of strings, got {type_name}"


def test_check_texts_rejects_a_generator() -> None:
    with pytest.raises(TypeError, match=r"^texts must be a list of strings, got generator$"):
        check_texts(t for t in ["a", "b"])


def test_check_texts_names_the_position_type_and_value_of_a_bad_item() -> None:
    with pytest.raises(TypeError) as error:
        check_texts(["fine", "also fine", 42, "never reached"])
    assert str(error.value) == "texts[2] must be a string, got int: 42"


def test_check_texts_uses_the_given_where_and_shortens_a_long_value() -> None:
    long_value = b"x" * 500
    with pytest.raises(TypeError) as error:
        check_texts([long_value], where="documents")
    message = str(error.value)
    assert message.startswith("documents[0] must be a string, got bytes: ")
    assert message.endswith(": " + repr(long_value)[:60])
    assert len(message) < 120


def test_check_texts_leaves_the_input_alone_when_it_rejects_it() -> None:
    texts: list[object] = ["a", None]
    with pytest.raises(TypeError, match=r"texts\[1\] must be a string, got NoneType: None"):
        check_texts(texts)
    assert texts == ["a", None]
