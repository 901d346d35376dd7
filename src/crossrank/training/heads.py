"""Building the cross-encoder to fine-tune: a first-token classification head or a mean-pooling head.

Example:
    ```python
    model = build_cross_encoder("path/to/all-MiniLM-L6-v2", head="mean", max_length=256)
    ```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

Head = Literal["auto", "cls", "mean", "segment-cosine"]


class _HubOptions(TypedDict):
    # Where sentence-transformers' Module.load_config / load_torch_weights find the files.
    token: bool | str | None
    cache_folder: str | None
    revision: str | None
    local_files_only: bool


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
    if head not in ("mean", "segment-cosine"):
        raise ValueError(f"head must be 'auto', 'cls', 'mean' or 'segment-cosine', got {head!r}")
    config = AutoConfig.from_pretrained(base_model)
    if (config.architectures or [""])[0].endswith("ForSequenceClassification"):
        return CrossEncoder(base_model, max_length=max_length, device="cpu")  # already a cross-encoder
    transformer = Transformer(base_model, transformer_task="feature-extraction", max_seq_length=max_length)
    if head == "segment-cosine":
        # Loading such a model needs trust_remote_code=True (the module lives in crossrank).
        transformer.model.config.num_labels = 1
        return CrossEncoder(modules=[transformer, _segment_cosine_class()()], device="cpu")
    dim = transformer.get_embedding_dimension()
    pooling = Pooling(dim, pooling_mode="mean")
    score = Dense(dim, 1, activation_function=None, module_output_name="scores")
    torch.nn.init.normal_(score.linear.weight, std=0.02)
    torch.nn.init.zeros_(score.linear.bias)
    return CrossEncoder(modules=[transformer, pooling, score], device="cpu")


def _segment_cosine_class() -> type:
    import torch
    from sentence_transformers.base.modules import Module

    class SegmentCosine(Module):
        """Scores a (query, passage) pair as the cosine of the mean-pooled query and passage tokens.

        The tokens come from one joint pass, so every token still sees the other text (a
        cross-encoder), but at initialisation the score is close to the bi-encoder's cosine
        similarity, so fine-tuning starts from what the bi-encoder knows instead of from a
        random head. Segments are told apart by ``token_type_ids`` (0 = query, 1 = passage).
        """

        config_keys: list[str] = ["initial_scale", "initial_bias"]

        def __init__(self, initial_scale: float = 20.0, initial_bias: float = -10.0) -> None:
            super().__init__()
            self.initial_scale = initial_scale
            self.initial_bias = initial_bias
            self.scale = torch.nn.Parameter(torch.tensor(float(initial_scale)))
            self.bias = torch.nn.Parameter(torch.tensor(float(initial_bias)))

        def forward(self, features: dict[str, torch.Tensor], **kwargs: object) -> dict[str, torch.Tensor]:
            tokens = features["token_embeddings"]
            mask = features["attention_mask"].to(tokens.dtype)
            passage = features["token_type_ids"].to(tokens.dtype) * mask
            query = mask - passage
            # [CLS] and the [SEP]s carry no meaning of either text; leave them out of both means.
            special = (features["input_ids"].unsqueeze(-1) == self._special_ids(features["input_ids"])).any(
                -1
            )
            query = query * (~special).to(tokens.dtype)
            passage = passage * (~special).to(tokens.dtype)
            q = (tokens * query.unsqueeze(-1)).sum(1) / query.sum(1, keepdim=True).clamp(min=1.0)
            p = (tokens * passage.unsqueeze(-1)).sum(1) / passage.sum(1, keepdim=True).clamp(min=1.0)
            cosine = torch.nn.functional.cosine_similarity(q, p, dim=-1)
            features["scores"] = (self.scale * cosine + self.bias).unsqueeze(1)
            return features

        def _special_ids(self, input_ids: torch.Tensor) -> torch.Tensor:
            return torch.tensor(getattr(self, "special_token_ids", [101, 102]), device=input_ids.device)

        def save(
            self, output_path: str, *args: object, safe_serialization: bool = True, **kwargs: object
        ) -> None:
            self.save_config(output_path)
            self.save_torch_weights(output_path, safe_serialization=safe_serialization)

        @classmethod
        def load(
            cls,
            model_name_or_path: str,
            subfolder: str = "",
            token: bool | str | None = None,
            cache_folder: str | None = None,
            revision: str | None = None,
            local_files_only: bool = False,
            init_defaults: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> SegmentCosine:
            # save() writes both config keys, so init_defaults (it only fills missing ones) is unused.
            hub: _HubOptions = {
                "token": token,
                "cache_folder": cache_folder,
                "revision": revision,
                "local_files_only": local_files_only,
            }
            config = cls.load_config(model_name_or_path=model_name_or_path, subfolder=subfolder, **hub)
            model = cls(**config)
            return cls.load_torch_weights(
                model_name_or_path=model_name_or_path, model=model, subfolder=subfolder, **hub
            )

    SegmentCosine.__module__ = "crossrank.training.heads"
    SegmentCosine.__qualname__ = "SegmentCosine"
    return SegmentCosine


def __getattr__(name: str) -> type:
    # Built lazily so importing crossrank.training does not import torch; sentence-transformers
    # finds the class by this module path when it loads a saved model.
    if name == "SegmentCosine":
        cls = _segment_cosine_class()
        globals()["SegmentCosine"] = cls
        return cls
    raise AttributeError(name)
