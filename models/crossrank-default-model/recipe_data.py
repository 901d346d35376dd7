"""The permissively licensed data the shipped default model is trained on, split once, the same way everywhere.

SQuAD v1.1 dev is split *by article* so no held-out question shares a Wikipedia article
with a training question; each part keeps only its own articles' paragraphs, so held-out
passages never appear in training, not even as negatives. The benchmark uses the same split.

Example:
    ```python
    sets = load_recipe_sets("../shared/data")
    sorted(sets)
    # -> ['hotpotqa', 'squad_heldout', 'squad_train', 'squad_validation', 'trecqa_dev', 'trecqa_test', 'trecqa_train']
    ```
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from crossrank.data import BeirDataset, load_beir, load_pairs, pairs_to_beir

SQUAD_SPLIT_SEED = 13
SQUAD_FRACTIONS = (0.6, 0.1, 0.3)  # train, validation, held-out (by article)


def split_by_article(data: BeirDataset, seed: int = SQUAD_SPLIT_SEED) -> dict[str, BeirDataset]:
    """Split a SQuAD-style BEIR set (passage ids ``<article>_<paragraph>``) into train/validation/heldout.

    Example:
        ```python
        d = BeirDataset.from_texts({f"{a}_0": f"p{a}" for a in range(10)}, {f"q{a}": "?" for a in range(10)},
                                   {f"q{a}": {f"{a}_0": 1} for a in range(10)})
        {k: len(v.queries) for k, v in split_by_article(d).items()}
        # -> {'train': 6, 'validation': 1, 'heldout': 3}
        ```
    """
    articles = sorted({doc_id.split("_")[0] for doc_id in data.corpus}, key=lambda a: (len(a), a))
    random.Random(seed).shuffle(articles)
    n_train = round(len(articles) * SQUAD_FRACTIONS[0])
    n_val = max(1, round(len(articles) * SQUAD_FRACTIONS[1]))
    parts = {
        "train": set(articles[:n_train]),
        "validation": set(articles[n_train : n_train + n_val]),
        "heldout": set(articles[n_train + n_val :]),
    }
    result: dict[str, BeirDataset] = {}
    for name, keep in parts.items():
        corpus = {d: doc for d, doc in data.corpus.items() if d.split("_")[0] in keep}
        qrels = {q: j for q, j in data.qrels.items() if all(d in corpus for d in j)}
        result[name] = replace(data, corpus=corpus, queries={q: data.queries[q] for q in qrels}, qrels=qrels)
    return result


def load_recipe_sets(data_dir: str | Path) -> dict[str, BeirDataset]:
    """Load every permissive set used for the default model, already split.

    Returns ``squad_train``, ``squad_validation``, ``squad_heldout`` (CC BY-SA 4.0),
    ``hotpotqa`` (CC BY-SA 4.0, 103 questions, all for training), ``trecqa_train``,
    ``trecqa_dev``, ``trecqa_test`` (public domain). Research-only or non-commercial sets
    (WikiQA, SciFact, MS MARCO) are deliberately not loaded here.

    Example:
        ```python
        sets = load_recipe_sets("../shared/data")
        ```
    """
    root = Path(data_dir)
    squad = split_by_article(load_beir(root / "squad-v1.1-dev", split="dev"))
    return {
        "squad_train": squad["train"],
        "squad_validation": squad["validation"],
        "squad_heldout": squad["heldout"],
        "hotpotqa": load_beir(root / "hotpotqa-dev-distractor-first103", split="dev"),
        "trecqa_train": pairs_to_beir(load_pairs(root / "trecqa" / "train.csv")),
        "trecqa_dev": pairs_to_beir(load_pairs(root / "trecqa" / "dev.csv")),
        "trecqa_test": pairs_to_beir(load_pairs(root / "trecqa" / "test.csv")),
    }


def sample_queries(data: BeirDataset, n: int, seed: int = 0) -> BeirDataset:
    """Keep ``n`` randomly chosen queries (all if ``n`` is larger).

    Example:
        ```python
        d = BeirDataset.from_texts({"a": "x"}, {"q1": "?", "q2": "?"}, {"q1": {"a": 1}, "q2": {"a": 1}})
        len(sample_queries(d, 1).queries)
        # -> 1
        ```
    """
    ids = sorted(data.queries)
    random.Random(seed).shuffle(ids)
    return data.subset(sorted(ids[:n]))
