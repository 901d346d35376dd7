"""Fine-tuning cross-encoder rerankers: hard-negative mining, training, distillation, model cards.

Data is read by :mod:`crossrank.data` (BEIR folders, labelled pairs).

Example:
    ```python
    from crossrank.training import train_cross_encoder
    train_cross_encoder("data/my-domain", "models/my-reranker", validation="data/my-domain::dev")
    ```
"""

from crossrank.training.groups import TrainingGroup
from crossrank.training.mining import mine_bm25_negatives
from crossrank.training.trainer import TrainingSummary, train_cross_encoder

__all__ = [
    "TrainingGroup",
    "TrainingSummary",
    "mine_bm25_negatives",
    "train_cross_encoder",
]
