"""The one small interface every inference backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from transformers import PreTrainedTokenizerBase

OutputKind = Literal["logits", "probabilities"]


@runtime_checkable
class Backend(Protocol):
    """A loaded cross-encoder that turns encoded (query, document) pairs into raw outputs.

    The scorer does tokenisation, windowing, batching and the probability maths;
    a backend only runs the model. Implementations: ``TorchBackend`` and
    ``OnnxBackend``.

    Attributes:
        name: Backend name, e.g. ``"torch"``.
        model_name: The model as the user named it.
        model_path: Local directory the model was loaded from.
        device: Device the model runs on.
        tokenizer: The model's tokenizer (a fast tokenizer).
        model_max_length: Longest input in tokens the model accepts (its position table).
        default_max_length: The window size the model was saved with (used when the
            scorer is given no ``max_length``).
        num_labels: 1 (a relevance logit) or 2 (negative / positive class).
        output_kind: ``"logits"`` or ``"probabilities"`` (a head that already squashes).
        default_batch_size: A good batch size for this backend on its device.
    """

    name: str
    model_name: str
    model_path: str
    device: str
    tokenizer: PreTrainedTokenizerBase
    model_max_length: int
    default_max_length: int
    num_labels: int
    output_kind: OutputKind
    default_batch_size: int

    def predict(self, input_ids: Sequence[Sequence[int]], token_type_ids: Sequence[Sequence[int]] | None) -> np.ndarray:
        """Run one padded batch; return raw outputs of shape ``(batch, num_labels)`` as float32."""
        ...


def pad_batch(
    input_ids: Sequence[Sequence[int]],
    token_type_ids: Sequence[Sequence[int]] | None,
    pad_token_id: int,
) -> dict[str, np.ndarray]:
    """Right-pad a batch of token id lists to its own longest member.

    Padding per batch (after the scorer sorted by length) keeps short batches short.

    Example:
        ```python
        pad_batch([[1, 2, 3], [1]], None, 0)["attention_mask"].tolist()   # [[1, 1, 1], [1, 0, 0]]
        ```
    """
    width = max(len(ids) for ids in input_ids)
    ids = np.full((len(input_ids), width), pad_token_id, dtype=np.int64)
    mask = np.zeros((len(input_ids), width), dtype=np.int64)
    for row, seq in enumerate(input_ids):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    features = {"input_ids": ids, "attention_mask": mask}
    if token_type_ids is not None:
        types = np.zeros((len(input_ids), width), dtype=np.int64)
        for row, seq in enumerate(token_type_ids):
            types[row, : len(seq)] = seq
        features["token_type_ids"] = types
    return features
