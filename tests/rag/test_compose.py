"""docker-compose.yml validates, and its service settings are the ones the code reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from crossrank.settings import RagSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose_config() -> dict:
    """The compose file as docker-compose resolves it (needs Debian's docker-compose; no engine)."""
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    done = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_qdrant_has_a_persistent_volume_and_a_health_check(compose_config: dict) -> None:
    qdrant = compose_config["services"]["qdrant"]
    # docker-compose 1.29 prints short syntax ("name:/path:rw"); newer versions print mappings
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in qdrant["volumes"]]
    assert any(m.startswith("qdrant_storage:/qdrant/storage") for m in mounts)
    assert "qdrant_storage" in compose_config["volumes"]  # a named volume: data outlives the container
    assert qdrant["healthcheck"]["test"]
    crossrank = compose_config["services"]["crossrank"]
    assert crossrank["depends_on"]["qdrant"]["condition"] == "service_healthy"


def test_every_crossrank_variable_is_a_setting_the_code_reads(
    compose_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crossrank.server.settings import ServerSettings

    environment = compose_config["services"]["crossrank"]["environment"]
    known = {
        f"CROSSRANK_{name.upper()}" for name in (*RagSettings.model_fields, *ServerSettings.model_fields)
    }
    unknown = sorted(name for name in environment if name.startswith("CROSSRANK_") and name not in known)
    assert unknown == []

    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    settings = RagSettings()  # the values compose passes validate, and are the ones used
    assert settings.qdrant_url == "http://qdrant:6333"
    assert settings.qdrant_api_key is None and settings.model is None  # "" means the default
    assert settings.generator == "extractive" and settings.min_probability == "model" and settings.top_k == 30


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"chunk_size": 100, "chunk_overlap": 100}, r"chunk_overlap \(100\) must be smaller than chunk_size \(100\)"),
        ({"top_n": 2, "min_keep": 3}, r"min_keep \(3\) must not exceed top_n \(2\)"),
        ({"min_probability": 0.3, "weak_min_probability": 0.4}, r"weak_min_probability \(0.4\) must not exceed"),
        ({"min_probability": "high"}, "min_probability .CROSSRANK_MIN_PROBABILITY. must be a probability"),
    ],
)
def test_inconsistent_settings_are_refused_with_the_gates_message(values: dict, message: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        RagSettings(**values)
    # A weak band above the model's threshold cannot be checked until the model is known: accepted.
    assert RagSettings(weak_min_probability=0.9).policy().weak_min_probability == 0.9
