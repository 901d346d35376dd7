"""The API generator against a real OpenAI-compatible server on loopback: llama.cpp's server
serving the same SmolLM2 GGUF file.

Opt-in (``CROSSRANK_OPTIN=1``): it needs ``pip install "llama-cpp-python[server]"``,
which compiles llama.cpp from source for several minutes, more than CI can spend.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crossrank import Verdict
from crossrank.rag import ApiGenerator, GenerationError, Passage, RagPipeline, RagSettings, ingest
from crossrank.rag.generate import default_gguf_file

pytestmark = pytest.mark.optin


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("CROSSRANK_OPTIN") != "1":
        pytest.skip("opt-in: set CROSSRANK_OPTIN=1 (needs llama-cpp-python[server])")
    pytest.importorskip("llama_cpp.server", reason='pip install "llama-cpp-python[server]"')
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # llama.cpp logs a lot while loading: to a file, since an unread pipe would fill up and block it
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    log = log_path.open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(default_gguf_file()),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"llama.cpp server exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama.cpp server did not start within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_api_generator_answers_through_a_real_openai_compatible_server(
    llama_server: str, rag_settings: RagSettings, docs_folder: Path
) -> None:
    ingest([docs_folder], rag_settings, show_progress=False)
    settings = rag_settings.model_copy(
        update={
            "generator": "api",
            "generator_base_url": llama_server,
            "generator_model": "smollm2",
            "max_new_tokens": 24,
        }
    )
    answer = RagPipeline.from_settings(settings).ask("What do pandas eat?")

    assert answer.verdict is Verdict.RELEVANT and answer.generator == "api:smollm2"
    assert answer.answered and answer.generation_error is None
    assert "bamboo" in (answer.text or "").lower()


def test_api_generator_timeout_is_a_clear_error(llama_server: str) -> None:
    generator = ApiGenerator("smollm2", base_url=llama_server, max_new_tokens=64, timeout_s=0.01)
    with pytest.raises(GenerationError, match="timed out after 0.01 s"):
        generator.generate("What do pandas eat?", [Passage(1, "Giant pandas eat bamboo.")])
