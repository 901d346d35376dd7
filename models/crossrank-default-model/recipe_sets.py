"""Every labelled set the default model is trained, validated or tested on, split once, the same way everywhere.

The build of the transfer set, checkpoint selection and the held-out benchmark all import
these splits, so no held-out query or passage can leak into training. Splits are by a
stable hash of the query id (by article for SQuAD, by medical topic for MedQuAD), so
they do not move when a file is re-read. Licences are in each folder's
LICENSE-or-SOURCE.txt; sets whose licence is research-only, non-commercial or unstated
(WikiQA, SciFact, Climate-FEVER, OpenBookQA) are used for validation or testing only,
never for training.

Example:
    ```python
    from recipe_sets import load_split

    train = load_split("../shared/data", "train")        # {name: BeirDataset-like Part}
    validation = load_split("../shared/data", "validation")
    ```
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from recipe_data import split_by_article

from crossrank.data import load_beir

TRAIN_LICENSED = ("squad", "boolq", "nq", "medquad", "selqa", "trecqa", "hotpotqa")


@dataclass
class Part:
    """One split of one set: passages, queries, judgements and the query style it stands for."""

    name: str
    style: str
    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    candidates: dict[str, list[str]] = field(default_factory=dict)  # judged candidate lists, where a set has them


def _bucket(key: str) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % 100


def _which(key: str, train: int = 70, validation: int = 85) -> str:
    b = _bucket(key)
    return "train" if b < train else "validation" if b < validation else "heldout"


def _beir_part(
    root: Path, folder: str, split: str, name: str, style: str, part: str, key_of: Callable[[str], str] | None = None
) -> Part:
    ds = load_beir(root / folder, split=split)
    keep = {q for q in ds.queries if _which(key_of(q) if key_of else q) == part}
    qrels = {q: ds.qrels[q] for q in keep}
    corpus = ds.passages()
    if part == "train":
        # Passages judged for a validation or held-out query never enter training, not even as negatives.
        others = {d for q, j in ds.qrels.items() if q not in keep for d in j}
        corpus = {d: t for d, t in corpus.items() if d not in others}
        qrels = {q: j for q, j in qrels.items() if all(d in corpus for d in j)}
    return Part(name, style, corpus, {q: ds.queries[q] for q in qrels}, qrels)


def _squad(root: Path, part: str) -> Part:
    chosen = split_by_article(load_beir(root / "squad-v1.1-dev", split="dev"))[part]
    return Part("squad", "question", chosen.passages(), chosen.queries, chosen.qrels)


def _medquad_key(qid: str) -> str:
    # By document (all questions about one topic page stay together): "Q-CancerGov-0000001_1-2" -> "CancerGov-0000001".
    return qid.split("-", 1)[1].rsplit("_", 1)[0]


def _pairs_part(path: Path, name: str, style: str) -> Part:
    import csv

    corpus: dict[str, str] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    candidates: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            qid = "q" + hashlib.sha1(row["qtext"].encode()).hexdigest()[:10]
            did = "d" + hashlib.sha1(row["atext"].encode()).hexdigest()[:10]
            queries[qid] = row["qtext"]
            corpus[did] = row["atext"]
            candidates.setdefault(qid, []).append(did)
            qrels.setdefault(qid, {})[did] = int(row["label"])
    keep = {q for q, j in qrels.items() if any(v > 0 for v in j.values())}
    return Part(name, style, corpus, {q: queries[q] for q in keep}, {q: qrels[q] for q in keep},
                {q: candidates[q] for q in keep})


def _wikiqa(root: Path, split: str) -> Part:
    corpus: dict[str, str] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    candidates: dict[str, list[str]] = {}
    with gzip.open(root / "wikiqa" / f"WikiQA-{split}.tsv.gz", "rt", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, question, _, title, sid, sentence, label = line.rstrip("\n").split("\t")
            queries[qid] = question
            corpus[sid] = f"{title}. {sentence}"
            candidates.setdefault(qid, []).append(sid)
            qrels.setdefault(qid, {})[sid] = int(label)
    keep = {q for q, j in qrels.items() if any(v > 0 for v in j.values())}
    return Part("wikiqa", "web question", corpus, {q: queries[q] for q in keep}, {q: qrels[q] for q in keep},
                {q: candidates[q] for q in keep})


def _selqa(root: Path, part: str) -> Part:
    split = "test" if part == "heldout" else "dev"
    ds = load_beir(root / "selqa", split=split)
    keep = [q for q in ds.queries if split == "test" or _which(q, 85, 100) == part]
    qrels = {q: ds.qrels[q] for q in keep if any(v > 0 for v in ds.qrels[q].values())}
    return Part("selqa", "question", ds.passages(), {q: ds.queries[q] for q in qrels}, qrels,
                {q: list(ds.qrels[q]) for q in qrels})


def _climate_fever(root: Path) -> Part:
    corpus: dict[str, str] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    with gzip.open(root / "climate-fever" / "climate-fever.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            judged = {}
            for ev in row["evidences"]:
                corpus[ev["evidence_id"]] = f"{ev['article']}. {ev['evidence']}"
                judged[ev["evidence_id"]] = 1 if ev["evidence_label"] in ("SUPPORTS", "REFUTES") else 0
            if any(judged.values()):
                queries[row["claim_id"]] = row["claim"]
                qrels[row["claim_id"]] = judged
    return Part("climate-fever", "claim", corpus, queries, qrels)


def load_split(data_dir: str | Path, part: str) -> dict[str, Part]:
    """Every set's ``part`` (``train``, ``validation`` or ``heldout``) that exists, by name."""
    root = Path(data_dir)
    sets: dict[str, Part] = {"squad": _squad(root, part)}
    sets["boolq"] = _beir_part(root, "boolq-dev", "dev", "boolq", "search query", part)
    sets["nq"] = _beir_part(root, "nq-qed-dev", "dev", "nq", "search query", part)
    sets["medquad"] = _beir_part(root, "medquad", "all", "medquad", "medical question", part, key_of=_medquad_key)
    sets["selqa"] = _selqa(root, part)
    trec_file = {"train": "train.csv", "validation": "dev.csv", "heldout": "test.csv"}[part]
    sets["trecqa"] = _pairs_part(root / "trecqa" / trec_file, "trecqa", "factoid question")
    if part == "train":
        hotpot = load_beir(root / "hotpotqa-dev-distractor-first103", split="dev")
        sets["hotpotqa"] = Part("hotpotqa", "multi-hop question", hotpot.passages(), hotpot.queries,
                                hotpot.qrels)
    if part == "validation":
        sets["wikiqa"] = _wikiqa(root, "dev")
        sets["climate-fever"] = _climate_fever(root)
    if part == "heldout":
        sets["wikiqa"] = _wikiqa(root, "test")
        scifact = load_beir(root / "scifact", split="test")
        sets["scifact"] = Part("scifact", "scientific claim", scifact.passages(), scifact.queries, scifact.qrels)
    return sets
