"""RagSettings' environment: CROSSRANK_RAG_* variables, the deprecated CROSSRANK_* names, the old module."""

from __future__ import annotations

import importlib
import logging
import sys
from functools import partial

import pytest
from env_helpers import built_quietly, without_crossrank_variables

from crossrank.rag.settings import RagSettings

pytestmark = pytest.mark.usefixtures("no_crossrank_variables")
quietly_built = partial(built_quietly, RagSettings)


@pytest.fixture
def no_crossrank_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    without_crossrank_variables(monkeypatch)


def test_the_rag_prefix_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSRANK_RAG_TOP_K", "12")
    monkeypatch.setenv("CROSSRANK_RAG_MIN_PROBABILITY", "0.4")
    monkeypatch.setenv("CROSSRANK_RAG_WEAK_MIN_PROBABILITY", "none")
    monkeypatch.setenv("CROSSRANK_RAG_COLLECTION", "")  # empty: the default
    settings = quietly_built()
    assert (settings.top_k, settings.min_probability, settings.weak_min_probability) == (12, 0.4, None)
    assert settings.collection == "crossrank"
    assert quietly_built(top_k=5).top_k == 5  # explicit values win over the environment


def test_an_old_name_is_still_read_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CROSSRANK_TOP_K", "12")
    with caplog.at_level(logging.WARNING, logger="crossrank.env"):
        with pytest.warns(DeprecationWarning, match="CROSSRANK_TOP_K is deprecated.*set CROSSRANK_RAG_TOP_K"):
            assert RagSettings().top_k == 12
    assert any("CROSSRANK_TOP_K" in r.message and "CROSSRANK_RAG_TOP_K" in r.message for r in caplog.records)
    monkeypatch.setenv(
        "CROSSRANK_RAG_TOP_K", ""
    )  # empty counts as unset (env_ignore_empty): the old one applies
    with pytest.warns(DeprecationWarning, match="CROSSRANK_TOP_K"):
        assert RagSettings().top_k == 12


def test_the_new_name_wins_over_the_old_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSRANK_TOP_K", "12")
    monkeypatch.setenv("CROSSRANK_RAG_TOP_K", "7")
    assert quietly_built().top_k == 7  # and no warning: the old name is not used
    monkeypatch.delenv("CROSSRANK_RAG_TOP_K")
    assert quietly_built(top_k=5).top_k == 5  # an explicit value wins too, without a warning
    monkeypatch.setenv("CROSSRANK_TOP_K", "")
    assert quietly_built().top_k == 30  # an empty old variable means the default, as a new one does


def test_the_server_variables_do_not_reach_the_rag_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSRANK_SERVER_MIN_PROBABILITY", "0.9")
    monkeypatch.setenv("CROSSRANK_SERVER_MODEL", "/models/server-only")
    monkeypatch.setenv("CROSSRANK_SERVER_TOP_N", "1")
    settings = quietly_built()
    assert settings.min_probability == "model" and settings.model is None and settings.top_n == 4


def test_the_old_module_reexports_the_settings_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "crossrank.settings", raising=False)
    with pytest.warns(DeprecationWarning, match=r"import RagSettings from crossrank\.rag\.settings"):
        old = importlib.import_module("crossrank.settings")
    assert old.RagSettings is RagSettings
