"""Speed measurements behind ``crossrank bench``: the baseline and crossrank on the same real passages.

* **baseline**: ``sentence_transformers.CrossEncoder.predict`` with its default settings.
* **crossrank**: ``CrossEncoderScorer`` with its best CPU settings (``backend="onnx"``:
  int8, length-sorted batches, the backend's batch size).
* **adapters**: the bare ``scorer.rerank``, the LangChain and the LlamaIndex adapter
  over the same scorer, timed round-robin query by query in one process, to show
  what the adapters add.

Each engine runs in its own fresh process (``python -m crossrank.evaluation.speed``)
so peak memory is that engine's alone and one engine's warm caches do not help
the other; one warm-up call per engine is not timed. Note the work differs: the
baseline truncates every passage to the model's length, crossrank scores long
passages window by window (``windows_per_pair`` in the results says how many).

Example:
    ```python
    workload = load_workload("path/to/scifact", queries=5, candidates=50)
    measure("baseline", "path/to/model", workload)["pairs_per_second"] > 0
    # -> True
    ```
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from crossrank.data import load_corpus, load_queries

ENGINES: tuple[str, ...] = ("baseline", "crossrank", "adapters")
"""``adapters`` times the bare scorer, LangChain and LlamaIndex round-robin in one process."""


@dataclass(frozen=True)
class Workload:
    """Queries, each with the same number of real candidate passages.

    Attributes:
        groups: ``(query, passages)`` pairs.
        source: Where the passages came from.
    """

    groups: list[tuple[str, list[str]]]
    source: str

    @property
    def pairs(self) -> int:
        """Total (query, passage) pairs."""
        return sum(len(p) for _, p in self.groups)


def load_workload(dataset: str | Path, queries: int = 20, candidates: int = 50, seed: int = 0) -> Workload:
    """``queries`` real queries of a BEIR dataset, each with ``candidates`` passages from its corpus.

    Each query gets its judged-relevant passages (when the qrels name any) plus
    passages drawn with a fixed seed, so the run is repeatable and passage lengths
    follow the corpus.
    """
    from crossrank.data import data_file, load_qrels

    folder = Path(dataset)
    corpus = load_corpus(data_file(folder, "corpus.jsonl"))
    all_queries = load_queries(data_file(folder, "queries.jsonl"))
    qrels: dict[str, dict[str, int]] = {}
    for path in sorted((folder / "qrels").glob("*.tsv")):
        for qid, docs in load_qrels(path).items():
            qrels.setdefault(qid, {}).update(docs)
    rng = random.Random(seed)
    doc_ids = sorted(corpus)
    query_ids = sorted(q for q in all_queries if q in qrels) or sorted(all_queries)
    groups = []
    for query_id in query_ids[:queries]:
        chosen = [d for d in sorted(qrels.get(query_id, {})) if d in corpus][:candidates]
        pool = [
            d for d in rng.sample(doc_ids, min(len(doc_ids), candidates + len(chosen))) if d not in chosen
        ]
        chosen += pool[: candidates - len(chosen)]
        groups.append((all_queries[query_id], [corpus[d].passage for d in chosen]))
    return Workload(groups=groups, source=str(folder))


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return float(statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1])


def _scorer(model: str, backend: str, max_length: int | None) -> Any:
    from crossrank import CrossEncoderScorer

    return CrossEncoderScorer(model, backend=backend, device="cpu", max_length=max_length)


def _engines(
    name: str, model: str, backend: str, max_length: int | None
) -> dict[str, Callable[[str, list[str]], Any]]:
    """The calls under test for ``name``, each reranking one query's passages."""
    if name == "baseline":
        from sentence_transformers import CrossEncoder

        cross_encoder = CrossEncoder(model, device="cpu", local_files_only=True)
        return {"baseline": lambda query, passages: cross_encoder.predict([(query, p) for p in passages])}
    scorer = _scorer(model, backend, max_length)
    if name == "crossrank":
        return {"crossrank": lambda query, passages: scorer.rerank(query, passages)}
    if name != "adapters":
        raise ValueError(f"unknown engine {name!r}; choose one of {ENGINES}")
    from langchain_core.documents import Document
    from llama_index.core.schema import NodeWithScore, TextNode

    from crossrank.langchain import CrossRankReranker
    from crossrank.llama_index import CrossRankPostprocessor

    reranker = CrossRankReranker(scorer=scorer, top_n=None)
    postprocessor = CrossRankPostprocessor(scorer=scorer, top_n=None)
    # Documents and nodes are built outside the timed call: a retriever hands them over ready.
    documents: dict[str, list[Document]] = {}
    nodes: dict[str, list[NodeWithScore]] = {}

    def langchain_call(query: str, passages: list[str]) -> Any:
        docs = documents.setdefault(query, [Document(page_content=p, metadata={"score": 1 / (i + 1)})
                                            for i, p in enumerate(passages)])  # fmt: skip
        return reranker.compress_documents(docs, query)

    def llama_index_call(query: str, passages: list[str]) -> Any:
        items = nodes.setdefault(query, [NodeWithScore(node=TextNode(text=p), score=1 / (i + 1))
                                         for i, p in enumerate(passages)])  # fmt: skip
        return postprocessor.postprocess_nodes(items, query_str=query)

    return {
        "bare scorer": lambda query, passages: scorer.rerank(query, passages),
        "langchain": langchain_call,
        "llama_index": llama_index_call,
    }


def _windows_per_pair(model: str, backend: str, max_length: int | None, workload: Workload) -> float:
    scorer = _scorer(model, backend, max_length)
    windows = [s.windows for group in scorer.score_many(workload.groups[:5]) for s in group]
    return round(sum(windows) / len(windows), 2)


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux and bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def measure(
    name: str,
    model: str,
    workload: Workload,
    backend: str = "onnx",
    repeats: int = 1,
    max_length: int | None = None,
) -> list[dict[str, Any]]:
    """Time engine ``name`` reranking every query of ``workload``; throughput, latency, peak memory.

    Latency is per query (all its candidates in one call); throughput is all pairs
    over the total time of those calls. Several calls of one engine (``adapters``)
    run round-robin query by query, so machine noise hits them alike.
    """
    started = time.perf_counter()
    calls = _engines(name, model, backend, max_length)
    load_s = time.perf_counter() - started
    latencies: dict[str, list[float]] = {label: [] for label in calls}
    for call in calls.values():
        call(*workload.groups[0])  # warm-up: first-call allocations, lazy imports, thread pools
    for _ in range(repeats):
        for query, passages in workload.groups:
            for label, call in calls.items():
                t0 = time.perf_counter()
                call(query, passages)
                latencies[label].append(time.perf_counter() - t0)
    results = []
    for label, values in latencies.items():
        results.append(
            {
                "engine": label,
                "backend": "sentence-transformers" if name == "baseline" else backend,
                "queries": len(values),
                "pairs": workload.pairs * repeats,
                "load_seconds": round(load_s, 2),
                "pairs_per_second": round(workload.pairs * repeats / sum(values), 1),
                "p50_ms": round(1000 * _percentile(values, 50), 1),
                "p95_ms": round(1000 * _percentile(values, 95), 1),
                "peak_rss_mb": _peak_rss_mb(),
            }
        )
    if name == "crossrank":
        results[0]["windows_per_pair"] = _windows_per_pair(model, backend, max_length, workload)
    return results


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import onnxruntime
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cpus_available": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "load_average_1min": round(load, 2) if load is not None else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "onnxruntime": onnxruntime.__version__,
    }


def run_isolated(
    name: str,
    model: str,
    dataset: str | Path,
    queries: int,
    candidates: int,
    backend: str,
    repeats: int,
    max_length: int | None = None,
) -> list[dict[str, Any]]:
    """``measure`` in a fresh Python process (clean peak memory, no shared warm state)."""
    command = [
        sys.executable, "-m", "crossrank.evaluation.speed", name, "--model", model, "--dataset", str(dataset),
        "--queries", str(queries), "--candidates", str(candidates), "--backend", backend, "--repeats", str(repeats),
    ] + (["--max-length", str(max_length)] if max_length else [])  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark of {name!r} failed:\n{done.stderr[-2000:]}")
    result: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _baseline_unavailable(model: str) -> str | None:
    """Why ``CrossEncoder.predict`` cannot be the baseline for ``model`` (``None`` when it can)."""
    from crossrank.late_interaction import read_architecture
    from crossrank.models import resolve_model

    if read_architecture(resolve_model(model).path) is None:
        return None
    # CrossEncoder would load the encoder and add a random classification head: timing it
    # would compare against a model that does not rank at all.
    return (
        "baseline not run: sentence_transformers.CrossEncoder cannot load crossrank's late-interaction "
        "model format; the cost curve compares predict on a standard cross-encoder (--baseline-model)"
    )


def compare(
    model: str,
    dataset: str | Path,
    *,
    queries: int = 20,
    candidates: int = 50,
    backend: str = "onnx",
    repeats: int = 1,
    engines: Sequence[str] = ENGINES,
    isolated: bool = True,
    max_length: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure every engine on the same workload and compute the ratios to the baseline.

    Returns a JSON-ready dict: ``machine``, ``workload``, ``results`` (one per engine),
    ``speedup`` (crossrank over baseline: throughput and p50) and
    ``adapter_overhead`` (relative p50 increase over the bare scorer).
    """
    for name in engines:
        if name not in ENGINES:
            raise ValueError(f"unknown engine {name!r}; choose from {ENGINES}")
    baseline_skipped = _baseline_unavailable(model) if "baseline" in engines else None
    if baseline_skipped is not None:
        engines = [name for name in engines if name != "baseline"]
    results: dict[str, dict[str, Any]] = {}
    workload = None if isolated else load_workload(dataset, queries, candidates)
    for name in engines:
        if progress:
            progress(name)
        if isolated:
            measured = run_isolated(name, model, dataset, queries, candidates, backend, repeats, max_length)
        else:
            assert workload is not None
            measured = measure(name, model, workload, backend, repeats, max_length)
        results.update({r["engine"]: r for r in measured})
    report: dict[str, Any] = {
        "machine": machine(),
        "workload": {"dataset": str(dataset), "queries": queries, "candidates_per_query": candidates,
                     "repeats": repeats, "model": model, "max_length": max_length},
        "results": list(results.values()),
    }  # fmt: skip
    if baseline_skipped is not None:
        report["baseline_skipped"] = baseline_skipped
    if "baseline" in results and "crossrank" in results:
        base, ours = results["baseline"], results["crossrank"]
        report["speedup"] = {
            "throughput": round(ours["pairs_per_second"] / base["pairs_per_second"], 2),
            "p50_latency": round(base["p50_ms"] / ours["p50_ms"], 2),
        }
    if "bare scorer" in results:
        bare = results["bare scorer"]["p50_ms"]
        report["adapter_overhead"] = {
            name: round(results[name]["p50_ms"] / bare - 1.0, 4)
            for name in ("langchain", "llama_index")
            if name in results
        }
    return report


def markdown(report: dict[str, Any]) -> str:
    """The results as a Markdown table with the ratios underneath."""
    lines = [
        "| engine | backend | pairs/s | p50 ms | p95 ms | peak RSS MB | load s | windows/pair |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['engine']} | {r['backend']} | {r['pairs_per_second']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['peak_rss_mb']} | {r['load_seconds']} | {r.get('windows_per_pair', '')} |"
        )
    if "baseline_skipped" in report:
        lines += ["", report["baseline_skipped"]]
    if "speedup" in report:
        s = report["speedup"]
        lines += [
            "",
            f"crossrank / baseline: {s['throughput']}x throughput, {s['p50_latency']}x lower p50 latency.",
        ]
    for name, overhead in report.get("adapter_overhead", {}).items():
        lines.append(f"{name} adapter overhead over the bare scorer (p50): {overhead:+.1%}")
    return "\n".join(lines)


CURVE_CANDIDATES: tuple[int, ...] = (10, 20, 50, 100, 200)
"""Candidates per query on the cost curve's first axis (passages of ``CURVE_FIXED_LENGTH`` tokens)."""

CURVE_LENGTHS: tuple[int, ...] = (64, 128, 256, 512)
"""Passage lengths in tokens on the second axis (``CURVE_FIXED_CANDIDATES`` candidates)."""

CURVE_FIXED_LENGTH = 128
CURVE_FIXED_CANDIDATES = 50

CURVE_ENGINES: tuple[str, ...] = ("default", "torch", "predict", "flashrank")
"""``default``: ``CrossEncoderScorer(model)`` with the scorer's default backend. ``torch``: the same
network in plain torch fp32 (``backend="torch"``). ``predict``: ``CrossEncoder.predict`` with its
defaults on a model it can load. ``flashrank``: FlashRank's ``Ranker`` over crossrank's int8 file."""

_FLASHRANK_NAME = "ms-marco-MiniLM-L-12-v2"
"""FlashRank only loads names from its own table; the int8 file is staged locally under this one."""


def cut_passages(tokenizer: Any, texts: Sequence[str], tokens: int, count: int) -> list[str]:
    """``count`` passages of exactly ``tokens`` tokens (as ``tokenizer`` counts, no special tokens).

    The real texts are joined into one token stream and cut into consecutive pieces, so
    every piece is real prose; the stream is reused from the start if it runs out.
    """
    stream: list[int] = []
    for text in texts:
        stream += tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(stream) >= tokens * count:
            break
    if len(stream) < tokens:
        raise ValueError(f"the texts hold only {len(stream)} tokens; {tokens} are needed for one passage")
    pieces = []
    for i in range(count):
        start = (i * tokens) % (len(stream) - tokens + 1)
        pieces.append(tokenizer.decode(stream[start : start + tokens]))
    return pieces


def _curve_call(
    engine: str, model: str, baseline_model: str | None
) -> tuple[Callable[[str, list[str]], Any], str]:
    """The call under test and a one-line description of what it runs."""
    if engine == "default":
        from crossrank import CrossEncoderScorer

        scorer = CrossEncoderScorer(model)
        return (
            lambda q, ps: scorer.rerank(q, ps)
        ), f"CrossEncoderScorer(model) -> backend {scorer.backend.name}"
    if engine == "torch":
        from crossrank import CrossEncoderScorer

        scorer = CrossEncoderScorer(model, backend="torch", device="cpu")
        return (
            lambda q, ps: scorer.rerank(q, ps)
        ), "CrossEncoderScorer(model, backend='torch'): the same network, fp32"
    if engine == "predict":
        from sentence_transformers import CrossEncoder

        target = baseline_model or model
        cross_encoder = CrossEncoder(target, device="cpu", local_files_only=True)
        return (
            lambda q, ps: cross_encoder.predict([(q, p) for p in ps])
        ), f"CrossEncoder({target}).predict, defaults"
    if engine == "flashrank":
        import atexit

        from flashrank import Ranker, RerankRequest

        folder = flashrank_folder(model)
        atexit.register(shutil.rmtree, folder.parent, True)  # the copied export is this process's alone
        ranker = Ranker(model_name=_FLASHRANK_NAME, cache_dir=str(folder.parent), log_level="WARNING")

        def call(query: str, passages: list[str]) -> Any:
            return ranker.rerank(RerankRequest(query=query, passages=[{"text": p} for p in passages]))

        return call, f"flashrank Ranker over a copy of crossrank's int8 export ({folder}), defaults"
    raise ValueError(f"unknown curve engine {engine!r}; choose one of {CURVE_ENGINES}")


def flashrank_folder(model: str, root: str | Path | None = None) -> Path:
    """A FlashRank model folder holding crossrank's int8 export of ``model`` (symlinked, nothing downloaded).

    FlashRank loads ``<cache_dir>/<name>/<file>`` for names in its built-in table only and
    wants ``config.json``, ``tokenizer.json``, ``tokenizer_config.json`` and
    ``special_tokens_map.json`` there; the exported file is linked under the name
    FlashRank expects for ``ms-marco-MiniLM-L-12-v2``.
    """
    import tempfile

    from flashrank.Config import model_file_map

    from crossrank.backends.onnx import OnnxBackend
    from crossrank.models import resolve_model

    backend = OnnxBackend(resolve_model(model), "cpu")  # exports once into the cache if the model ships none
    source = Path(backend.model_path)
    folder = Path(root or tempfile.mkdtemp(prefix="crossrank-flashrank-")) / _FLASHRANK_NAME
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json"):
        if not (source / name).is_file():
            raise FileNotFoundError(f"FlashRank needs {name}; {source} has none")
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(source / name)
    tokenizer_config = json.loads((source / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer_config.setdefault("model_max_length", backend.model_max_length)
    tokenizer_config["model_max_length"] = min(
        int(tokenizer_config["model_max_length"]), backend.model_max_length
    )
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    special = {k: tokenizer_config[k] for k in ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token")
               if isinstance(tokenizer_config.get(k), str)}  # fmt: skip
    (folder / "special_tokens_map.json").write_text(json.dumps(special), encoding="utf-8")
    # Copied, not linked: ONNX Runtime refuses external data (a shipped export keeps its
    # embeddings in model.safetensors) that resolves outside the model's folder.
    shutil.copyfile(backend.onnx_path, folder / model_file_map[_FLASHRANK_NAME])
    if backend.shipped and (source / "model.safetensors").is_file():
        shutil.copyfile(source / "model.safetensors", folder / "model.safetensors")
    return folder


class CurveGrid(TypedDict):
    """The grid points and repeats of a cost curve (what ``curve_measure`` takes as keywords)."""

    candidates: list[int]
    lengths: list[int]
    fixed_length: int
    fixed_candidates: int
    repeats: int


def curve_measure(
    engine: str,
    model: str,
    dataset: str | Path,
    *,
    baseline_model: str | None = None,
    candidates: Sequence[int] = CURVE_CANDIDATES,
    lengths: Sequence[int] = CURVE_LENGTHS,
    fixed_length: int = CURVE_FIXED_LENGTH,
    fixed_candidates: int = CURVE_FIXED_CANDIDATES,
    repeats: int = 3,
) -> dict[str, Any]:
    """p50 latency of one rerank call per grid point for ``engine``, and the process's peak memory.

    Passages are real text of ``dataset`` cut to the exact token length with ``model``'s
    tokenizer; one query of the dataset is used for every call. Each point gets one
    untimed warm-up call (new shapes) and ``repeats`` timed calls.
    """
    from transformers import AutoTokenizer

    from crossrank.data import data_file
    from crossrank.models import resolve_model

    folder = Path(dataset)
    corpus = load_corpus(data_file(folder, "corpus.jsonl"))
    query = next(iter(load_queries(data_file(folder, "queries.jsonl")).values()))
    texts = [corpus[d].passage for d in sorted(corpus)]
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(model).path, local_files_only=True)
    started = time.perf_counter()
    call, runs = _curve_call(engine, model, baseline_model)
    load_s = time.perf_counter() - started
    points = [("candidates", n, fixed_length, n) for n in candidates]
    points += [("length", n, n, fixed_candidates) for n in lengths]
    rows = []
    for axis, value, length, count in points:
        passages = cut_passages(tokenizer, texts, length, count)
        call(query, passages)  # warm-up
        seconds = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            call(query, passages)
            seconds.append(time.perf_counter() - t0)
        rows.append({"axis": axis, "value": value, "tokens": length, "candidates": count,
                     "p50_ms": round(1000 * _percentile(seconds, 50), 1)})  # fmt: skip
    return {"engine": engine, "runs": runs, "load_seconds": round(load_s, 2), "peak_rss_mb": _peak_rss_mb(),
            "rows": rows}  # fmt: skip


def curve_engines(model: str, baseline_model: str | None) -> tuple[list[str], dict[str, str]]:
    """The engines the curve can run for ``model``, and for each one left out, why (one line)."""
    from crossrank.late_interaction import read_architecture
    from crossrank.models import resolve_model

    engines, skipped = ["default", "torch"], {}
    if read_architecture(resolve_model(model).path) is not None and baseline_model is None:
        skipped["predict"] = ("sentence_transformers.CrossEncoder cannot load crossrank's late-interaction model; "
                              "pass --baseline-model with a standard cross-encoder of the same size")  # fmt: skip
    else:
        engines.append("predict")
    try:
        import flashrank  # noqa: F401

        engines.append("flashrank")
    except ImportError:
        skipped["flashrank"] = "flashrank is not installed (pip install flashrank)"
    return engines, skipped


def curve(
    model: str,
    dataset: str | Path,
    *,
    baseline_model: str | None = None,
    engines: Sequence[str] | None = None,
    candidates: Sequence[int] = CURVE_CANDIDATES,
    lengths: Sequence[int] = CURVE_LENGTHS,
    fixed_length: int = CURVE_FIXED_LENGTH,
    fixed_candidates: int = CURVE_FIXED_CANDIDATES,
    repeats: int = 3,
    isolated: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The cost curve: every engine over the grid, each in its own process when ``isolated``.

    An engine that fails (FlashRank refusing the export, say) is reported under
    ``skipped`` with its error's last line instead of stopping the run.
    """
    available, skipped = curve_engines(model, baseline_model)
    chosen = [e for e in (engines or available) if e in available]
    grid: CurveGrid = {"candidates": list(candidates), "lengths": list(lengths),
                       "fixed_length": fixed_length, "fixed_candidates": fixed_candidates,
                       "repeats": repeats}  # fmt: skip
    results = []
    for engine in chosen:
        if progress:
            progress(engine)
        try:
            if isolated:
                command = [sys.executable, "-m", "crossrank.evaluation.speed", "curve", engine, "--model", model,
                           "--dataset", str(dataset), "--grid", json.dumps(grid)]  # fmt: skip
                command += ["--baseline-model", baseline_model] if baseline_model else []
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise RuntimeError((done.stderr.strip().splitlines() or ["no output"])[-1])
                results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            else:
                results.append(curve_measure(engine, model, dataset, baseline_model=baseline_model, **grid))
        except Exception as error:  # noqa: BLE001 - the run goes on and says why this engine is missing
            skipped[engine] = (
                str(error).strip().splitlines()[-1][:300] if str(error).strip() else type(error).__name__
            )
    return {"machine": machine(), "model": model, "baseline_model": baseline_model, "dataset": str(dataset),
            "grid": grid, "results": results, "skipped": skipped}  # fmt: skip


def curve_markdown(report: dict[str, Any]) -> str:
    """The cost curve as one Markdown table (p50 ms per grid point and engine), peak memory, and skips."""
    results = report["results"]
    if not results:
        return "cost curve: no engine ran\n" + "\n".join(f"- {k}: {v}" for k, v in report["skipped"].items())
    header = (
        "| axis | candidates | tokens/passage | "
        + " | ".join(f"{r['engine']} p50 ms" for r in results)
        + " |"
    )
    lines = [header, "|" + " --- |" * (3 + len(results))]
    for i, row in enumerate(results[0]["rows"]):
        cells = " | ".join(str(r["rows"][i]["p50_ms"]) for r in results)
        lines.append(f"| {row['axis']} | {row['candidates']} | {row['tokens']} | {cells} |")
    lines.append("")
    for r in results:
        lines.append(
            f"- {r['engine']}: {r['runs']}; peak RSS {r['peak_rss_mb']} MB, load {r['load_seconds']} s"
        )
    for engine, why in report["skipped"].items():
        lines.append(f"- {engine}: not run: {why}")
    return "\n".join(lines)


def plot_curve(report: dict[str, Any], path: str | Path) -> Path:
    """Two panels, p50 against candidates and against passage length, one line per engine; a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = report["grid"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for r in report["results"]:
        label = f"{r['engine']} ({r['peak_rss_mb']:.0f} MB peak)"
        for axes, axis in ((left, "candidates"), (right, "length")):
            rows = [row for row in r["rows"] if row["axis"] == axis]
            axes.plot(
                [row["value"] for row in rows], [row["p50_ms"] for row in rows], marker="o", label=label
            )
    left.set(xlabel=f"candidates per query ({grid['fixed_length']}-token passages)", ylabel="p50 ms per query",
             title="cost vs candidates")  # fmt: skip
    right.set(xlabel=f"tokens per passage ({grid['fixed_candidates']} candidates)", ylabel="p50 ms per query",
              title="cost vs passage length")  # fmt: skip
    for axes in (left, right):
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", dpi=110)
    plt.close(figure)
    return out


def _curve_main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(
        description="Measure one engine's cost curve (used by `crossrank bench`)."
    )
    parser.add_argument("engine", choices=CURVE_ENGINES)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--baseline-model", default=None)
    parser.add_argument(
        "--grid", required=True, help="JSON: candidates, lengths, fixed_length, fixed_candidates, repeats"
    )
    args = parser.parse_args(argv)
    grid = json.loads(args.grid)
    print(
        json.dumps(
            curve_measure(args.engine, args.model, args.dataset, baseline_model=args.baseline_model, **grid)
        )
    )


def _main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["curve"]:
        _curve_main(argv[1:])
        return
    parser = argparse.ArgumentParser(description="Measure one engine (used by `crossrank bench`).")
    parser.add_argument("engine", choices=ENGINES)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=None)
    args = parser.parse_args(argv)
    workload = load_workload(args.dataset, args.queries, args.candidates)
    print(json.dumps(measure(args.engine, args.model, workload, args.backend, args.repeats, args.max_length)))


if __name__ == "__main__":
    _main()
