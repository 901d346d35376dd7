"""Building the cross-encoder to fine-tune: a first-token classification head or a mean-pooling head.

Example:
    ```python
    model = build_cross_encoder("path/to/all-MiniLM-L6-v2", head="mean", max_length=256)
    ```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

Head = Literal["auto", "cls", "mean"]


def resolve_head(head: Head) -> Head:
    """The head ``"auto"`` stands for (``"mean"``); other names are returned unchanged.

    Example:
        ```python
        resolve_head("auto")
        # -> 'mean'
        ```
    """
    return "mean" if head == "auto" else head


def build_cross_encoder(
    base_model: str, head: Head = "auto", max_length: int = 256, seed: int = 42
) -> CrossEncoder:
    """Load ``base_model`` as a one-logit :class:`sentence_transformers.CrossEncoder`.

    ``head="cls"`` is the usual sequence-classification head on the first token (what
    ``CrossEncoder(base)`` builds). ``head="mean"`` scores the mean of the token embeddings
    instead, the pooling a sentence-transformers bi-encoder was trained with, so the
    encoder's representation is used as it was learned. ``head="auto"`` (the default) is
    ``"mean"``: measured on the default model's validation set, a fresh first-token head on
    a bi-encoder base fell far below BM25 while mean pooling learned quickly (see
    docs/benchmarks.md). A base that already is a cross-encoder is loaded unchanged,
    whatever ``head`` says.

    Example:
        ```python
        build_cross_encoder("cross-encoder/ms-marco-MiniLM-L6-v2")
        ```
    """
    import torch
    from sentence_transformers import CrossEncoder
    from sentence_transformers.base.modules import Dense, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import AutoConfig

    torch.manual_seed(seed)
    head = resolve_head(head)
    if head == "cls":
        return CrossEncoder(base_model, num_labels=1, max_length=max_length, device="cpu")
    if head != "mean":
        raise ValueError(f"head must be 'auto', 'cls' or 'mean', got {head!r}")
    config = AutoConfig.from_pretrained(base_model)
    if (config.architectures or [""])[0].endswith("ForSequenceClassification"):
        return CrossEncoder(base_model, max_length=max_length, device="cpu")  # already a cross-encoder
    transformer = Transformer(base_model, transformer_task="feature-extraction", max_seq_length=max_length)
    dim = transformer.get_embedding_dimension()
    pooling = Pooling(dim, pooling_mode="mean")
    score = Dense(dim, 1, activation_function=None, module_output_name="scores")
    torch.nn.init.normal_(score.linear.weight, std=0.02)
    torch.nn.init.zeros_(score.linear.bias)
    return CrossEncoder(modules=[transformer, pooling, score], device="cpu")
