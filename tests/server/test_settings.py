"""Settings: CROSSRANK_SERVER_* variables, flags winning over them, empty variables meaning defaults,
the deprecated CROSSRANK_* names, clear errors."""

from __future__ import annotations

import pytest
import typer
from env_helpers import built_quietly, without_crossrank_variables
from typer.testing import CliRunner

from crossrank.server import ServerSettings
from crossrank.server.cli import settings_from_flags

pytestmark = pytest.mark.usefixtures("no_crossrank_variables")


@pytest.fixture
def no_crossrank_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    without_crossrank_variables(monkeypatch)


def quietly_built(**flags: object) -> ServerSettings:
    """``settings_from_flags`` without a warning (no deprecated name is read)."""
    return built_quietly(settings_from_flags, **flags)


def test_environment_flags_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSRANK_SERVER_MAX_BATCH_SIZE", "96")
    monkeypatch.setenv("CROSSRANK_SERVER_PORT", "9001")
    monkeypatch.setenv("CROSSRANK_SERVER_API_KEY", "")  # docker-compose passes unset variables as empty
    monkeypatch.setenv("CROSSRANK_SERVER_MIN_PROBABILITY", "")
    settings = settings_from_flags(port=9002, max_batch_size=None)
    assert settings.max_batch_size == 96  # from the environment
    assert settings.port == 9002  # the flag wins
    assert settings.api_key is None and settings.min_probability == "model"  # empty means default
    monkeypatch.setenv("CROSSRANK_SERVER_MIN_PROBABILITY", "none")
    assert settings_from_flags().min_probability is None  # ungated, as Cohere keeps every document
    assert settings_from_flags(min_probability="0.3").min_probability == 0.3
    assert ServerSettings().max_wait_ms == 5.0


def test_an_old_name_is_still_read_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSRANK_MAX_QUEUE", "100")
    with pytest.warns(
        DeprecationWarning, match="CROSSRANK_MAX_QUEUE is deprecated.*set CROSSRANK_SERVER_MAX_QUEUE"
    ):
        assert ServerSettings().max_queue == 100
    assert quietly_built(max_queue=50).max_queue == 50  # a flag wins, and the old name is not used


def test_the_new_name_wins_over_the_old_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSRANK_MAX_QUEUE", "100")
    monkeypatch.setenv("CROSSRANK_SERVER_MAX_QUEUE", "300")
    monkeypatch.setenv("CROSSRANK_MIN_PROBABILITY", "0.5")
    monkeypatch.setenv("CROSSRANK_SERVER_MIN_PROBABILITY", "none")
    settings = quietly_built()
    assert settings.max_queue == 300 and settings.min_probability is None


def test_the_rag_variables_do_not_reach_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # docker-compose.yml used to set CROSSRANK_MIN_PROBABILITY=0.5 for the RAG app, which gated
    # /v1/rerank too; the RAG app's own name stays with the RAG app.
    monkeypatch.setenv("CROSSRANK_RAG_MIN_PROBABILITY", "0.5")
    monkeypatch.setenv("CROSSRANK_RAG_MODEL", "/models/rag-only")
    monkeypatch.setenv("CROSSRANK_RAG_MIN_KEEP", "2")
    settings = quietly_built()
    assert settings.min_probability == "model" and settings.model is None and settings.min_keep == 0


def test_an_empty_api_key_flag_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CROSSRANK_SERVER_API_KEY", raising=False)
    assert settings_from_flags(api_key="").api_key is None  # like an empty CROSSRANK_SERVER_API_KEY
    assert settings_from_flags(api_key="  ").api_key is None
    assert settings_from_flags(api_key="s3cret").api_key.get_secret_value() == "s3cret"


def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(typer.BadParameter, match="max_batch_size"):
        settings_from_flags(max_batch_size=0)
    with pytest.raises(typer.BadParameter, match="max_document_chars"):
        settings_from_flags(max_document_chars=10, max_request_chars=5)
    with pytest.raises(typer.BadParameter, match="min_probability"):
        settings_from_flags(min_probability="high")
    monkeypatch.setenv("CROSSRANK_SERVER_MAX_QUEUE", "many")
    with pytest.raises(typer.BadParameter, match="max_queue"):
        settings_from_flags()


def test_serve_is_a_crossrank_command() -> None:
    from crossrank.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--max-batch-size" in result.output and "CROSSRANK_SERVER_MAX_BATCH_SIZE" in result.output
