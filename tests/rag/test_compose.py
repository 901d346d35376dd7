"""docker-compose.yml validates, and its service settings are the ones the code reads."""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

from crossrank.env import LEGACY_PREFIX
from crossrank.rag.settings import RagSettings
from crossrank.server.settings import ServerSettings

ROOT = Path(__file__).resolve().parents[2]
BASE = ("docker-compose.yml",)
SCALE = ("docker-compose.yml", "docker-compose.scale.yml")


def resolve_compose(files: tuple[str, ...], **inputs: str) -> dict:
    """The compose files as docker-compose resolves them (needs Debian's docker-compose; no engine).

    ``inputs`` are the variables interpolated into the files (``${CROSSRANK_RAG_MIN_PROBABILITY:-model}``);
    none of the caller's CROSSRANK_* variables leak in, so the files' own defaults are tested.
    """
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CROSSRANK_", "QDRANT_"))} | inputs
    done = subprocess.run(
        ["docker-compose", *(arg for name in files for arg in ("-f", str(ROOT / name))), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@pytest.fixture(scope="module")
def compose_config() -> dict:
    return resolve_compose(BASE)


def use_environment(environment: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's environment becomes the service's (and nothing else named CROSSRANK_*)."""
    for name in list(os.environ):
        if name.startswith("CROSSRANK_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))


def test_qdrant_has_a_persistent_volume_and_a_health_check(compose_config: dict) -> None:
    qdrant = compose_config["services"]["qdrant"]
    # docker-compose 1.29 prints short syntax ("name:/path:rw"); newer versions print mappings
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in qdrant["volumes"]]
    assert any(m.startswith("qdrant_storage:/qdrant/storage") for m in mounts)
    assert "qdrant_storage" in compose_config["volumes"]  # a named volume: data outlives the container
    assert qdrant["healthcheck"]["test"]
    crossrank = compose_config["services"]["crossrank"]
    assert crossrank["depends_on"]["qdrant"]["condition"] == "service_healthy"


@pytest.mark.parametrize("files", [BASE, SCALE], ids=["base", "scale"])
def test_every_crossrank_variable_is_a_setting_of_its_app(files: tuple[str, ...]) -> None:
    # Each app has its own prefix; the old shared CROSSRANK_<FIELD> names (deprecated) reach
    # both apps, which is how the RAG app's threshold used to gate the server's endpoints.
    fields = (*RagSettings.model_fields, *ServerSettings.model_fields)
    deprecated = {f"{LEGACY_PREFIX}{name.upper()}" for name in fields}
    known = {
        f"{cls.model_config['env_prefix']}{name.upper()}"
        for cls in (RagSettings, ServerSettings)
        for name in cls.model_fields
    }
    for service_name, service in resolve_compose(files)["services"].items():
        names = [name for name in service.get("environment") or {} if name.startswith("CROSSRANK_")]
        assert sorted(name for name in names if name in deprecated) == [], service_name
        assert sorted(name for name in names if name not in known) == [], service_name


def test_the_values_compose_passes_validate_and_are_the_ones_used(
    compose_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_environment(compose_config["services"]["crossrank"]["environment"], monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecated variable is read
        settings, server = RagSettings(), ServerSettings()
    assert settings.qdrant_url == "http://qdrant:6333"
    assert settings.qdrant_api_key is None and settings.model is None  # "" means the default
    assert settings.generator == "extractive" and settings.min_probability == "model" and settings.top_k == 30
    assert server.host == "0.0.0.0" and server.port == 8080 and server.answer_enabled
    assert server.model is None and server.min_probability == "model"


def test_the_rag_threshold_does_not_reach_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    config = resolve_compose(BASE, CROSSRANK_RAG_MIN_PROBABILITY="0.5")
    use_environment(config["services"]["crossrank"]["environment"], monkeypatch)
    assert RagSettings().min_probability == 0.5
    assert ServerSettings().min_probability == "model"  # /v1/rerank keeps its own default gate


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"chunk_size": 100, "chunk_overlap": 100},
            r"chunk_overlap \(100\) must be smaller than chunk_size \(100\)",
        ),
        ({"top_n": 2, "min_keep": 3}, r"min_keep \(3\) must not exceed top_n \(2\)"),
        (
            {"min_probability": 0.3, "weak_min_probability": 0.4},
            r"weak_min_probability \(0.4\) must not exceed",
        ),
        (
            {"min_probability": "high"},
            "min_probability .CROSSRANK_RAG_MIN_PROBABILITY. must be a probability",
        ),
    ],
)
def test_inconsistent_settings_are_refused_with_the_gates_message(values: dict, message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        RagSettings(**values)
    # A weak band above the model's threshold cannot be checked until the model is known: accepted.
    assert RagSettings(weak_min_probability=0.9).policy().weak_min_probability == 0.9
