"""Fine-tuning cross-encoder rerankers: data loading, hard-negative mining, training, model cards.

Example:
    ```python
    from crossrank.training import train_cross_encoder
    train_cross_encoder("data/my-domain", "models/my-reranker", validation="data/my-domain::dev")
    ```
"""

from crossrank.training.data import BeirData, LabelledPair, TrainingDataError, load_beir, load_pairs
from crossrank.training.groups import TrainingGroup
from crossrank.training.mining import mine_bm25_negatives
from crossrank.training.trainer import TrainingSummary, train_cross_encoder

__all__ = [
    "BeirData",
    "LabelledPair",
    "TrainingDataError",
    "TrainingGroup",
    "TrainingSummary",
    "load_beir",
    "load_pairs",
    "mine_bm25_negatives",
    "train_cross_encoder",
]
