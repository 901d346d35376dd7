"""A cross-encoder that starts as its bi-encoder and learns to let query and passage read each other.

This is the architecture of crossrank's default model. A bi-encoder's weights already
know a lot about relevance, but a plain cross-encoder built from them starts far below
it (measured: all-MiniLM-L6-v2 read jointly ranks at BM25's level): once query and
passage attend to each other in every layer, the token states the bi-encoder learned
are gone. Here every layer computes two attention patterns from the same projections:
within each text only (the passage with its own ``[CLS]`` and positions from 0, exactly
as a bi-encoder encodes it alone) and across both texts. In the top ``joint_layers``
layers a learned gate per head mixes them, ``(1 - g) * within + g * across``; the gates
start at 0, so an untrained model scores exactly the bi-encoder's cosine (scaled), and
distillation from a stronger teacher opens the heads where reading both texts helps.
Lower layers stay within-text, as in PreTTR (MacAvaney et al., SIGIR 2020).

The model is a plain Hugging Face encoder checkpoint plus ``crossrank_architecture.json``
(joint layers, gates, scale, bias), so it loads without ``trust_remote_code``: this
module is crossrank's own code.

Example:
    ```python
    from crossrank.late_interaction import LateInteractionCrossEncoder

    model = LateInteractionCrossEncoder.from_encoder("path/to/all-MiniLM-L6-v2", joint_layers=2)
    model.save("my-model")          # a folder CrossEncoderScorer("my-model") loads
    ```
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

if TYPE_CHECKING:
    from transformers.models.bert.modeling_bert import BertLayer, BertModel, BertSelfAttention

ARCHITECTURE_FILE = "crossrank_architecture.json"
"""The file that marks a model folder as a late-interaction cross-encoder."""

ARCHITECTURE_NAME = "late-interaction"


@dataclass(frozen=True)
class ArchitectureConfig:
    """What ``crossrank_architecture.json`` holds.

    Attributes:
        joint_layers: How many of the top layers attend across query and passage.
        scale: Multiplies the cosine of the two mean-pooled texts.
        bias: Added after scaling; ``scale * cosine + bias`` is the relevance logit.
        max_length: The window size (tokens per pair) the model was trained with.
        cls_token_id: The token inserted before the passage so it is encoded as if alone.
        gates: Per joint layer, per head, how much the head reads across the two texts (empty: all 0).
    """

    joint_layers: int
    scale: float = 20.0
    bias: float = -10.0
    max_length: int = 256
    cls_token_id: int = 101
    gates: tuple[tuple[float, ...], ...] = ()
    architecture: str = ARCHITECTURE_NAME


def read_architecture(model_dir: str | Path) -> ArchitectureConfig | None:
    """The folder's late-interaction config, or ``None`` for an ordinary cross-encoder.

    Example:
        ```python
        read_architecture("path/to/model")  # ArchitectureConfig(joint_layers=2, ...) or None
        ```
    """
    path = Path(model_dir) / ARCHITECTURE_FILE
    if not path.is_file():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw.get("architecture") != ARCHITECTURE_NAME:
        raise ValueError(
            f"{path}: architecture {raw.get('architecture')!r} is not one crossrank knows; expected {ARCHITECTURE_NAME!r}"
        )
    raw["gates"] = tuple(tuple(float(g) for g in row) for row in raw.get("gates", ()))
    return ArchitectureConfig(**raw)


def _additive(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # (batch, 1, query_len, key_len) additive mask: 0 where attention is allowed.
    return (~allowed).unsqueeze(1).to(dtype) * torch.finfo(dtype).min


class LateInteractionCrossEncoder(nn.Module):
    """Scores ``[CLS] query [SEP] passage [SEP]`` pairs; see the module docstring for the design.

    Example:
        ```python
        model = LateInteractionCrossEncoder.load("path/to/model")
        logits = model(input_ids, attention_mask, token_type_ids)   # shape (batch,)
        ```
    """

    def __init__(self, encoder: nn.Module, config: ArchitectureConfig) -> None:
        super().__init__()
        # nn.Module attributes are dynamic (typed Tensor | Module); the encoder is a BERT-style
        # model (embeddings, encoder.layer, config), which is the structure forward() runs on.
        bert = cast("BertModel", encoder)
        layers: nn.ModuleList = bert.encoder.layer
        if not 0 <= config.joint_layers <= len(layers):
            raise ValueError(f"joint_layers must be between 0 and {len(layers)}, got {config.joint_layers}")
        heads = int(bert.config.num_attention_heads)
        gates = config.gates or tuple((0.0,) * heads for _ in range(config.joint_layers))
        if len(gates) != config.joint_layers or any(len(row) != heads for row in gates):
            raise ValueError(f"gates must be {config.joint_layers} rows of {heads} values, got {gates!r}")
        self.encoder: BertModel = bert
        self.config = config
        self.scale = nn.Parameter(torch.tensor(float(config.scale)))
        self.bias = nn.Parameter(torch.tensor(float(config.bias)))
        self.gates = nn.Parameter(
            torch.tensor(gates, dtype=torch.float32).reshape(config.joint_layers, heads)
        )

    @classmethod
    def from_encoder(
        cls, path: str | Path, joint_layers: int, max_length: int = 256
    ) -> LateInteractionCrossEncoder:
        """Start from a bi-encoder's (or any BERT-style encoder's) weights, all gates closed."""
        from transformers import AutoModel, AutoTokenizer

        encoder = AutoModel.from_pretrained(str(path), add_pooling_layer=False)
        cls_id = AutoTokenizer.from_pretrained(str(path)).cls_token_id
        config = ArchitectureConfig(
            joint_layers=joint_layers, max_length=max_length, cls_token_id=int(cls_id)
        )
        return cls(encoder, config)

    @classmethod
    def load(cls, path: str | Path) -> LateInteractionCrossEncoder:
        """Load a saved model folder (weights, tokenizer, ``crossrank_architecture.json``)."""
        from transformers import AutoModel

        config = read_architecture(path)
        if config is None:
            raise ValueError(f"{path} has no {ARCHITECTURE_FILE}: it is not a late-interaction model")
        encoder = AutoModel.from_pretrained(str(path), add_pooling_layer=False)
        return cls(encoder, config)

    def trained_config(self) -> ArchitectureConfig:
        """The configuration with the scale, bias and gates as trained."""
        return replace(
            self.config,
            scale=float(self.scale.detach()),
            bias=float(self.bias.detach()),
            gates=tuple(tuple(float(g) for g in row) for row in self.gates.detach().tolist()),
        )

    def save(self, path: str | Path) -> Path:
        """Write the encoder weights and the architecture file (scale, bias and gates as trained)."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(str(out))
        text = json.dumps(asdict(self.trained_config()), indent=2) + "\n"
        (out / ARCHITECTURE_FILE).write_text(text, encoding="utf-8")
        return out

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        """Relevance logits, shape ``(batch,)``."""
        valid = attention_mask.bool()
        query_length = (valid & ~token_type_ids.bool()).sum(1, keepdim=True)
        # Insert a [CLS] where the passage starts (one column more), as a lone passage would have.
        column = torch.arange(input_ids.shape[1] + 1, device=input_ids.device).unsqueeze(0)
        source = (column - (column > query_length).long()).clamp(max=input_ids.shape[1] - 1)
        source = source.expand(input_ids.shape[0], -1)
        inserted = column == query_length
        ids = torch.where(inserted, self.config.cls_token_id, torch.gather(input_ids, 1, source))
        valid = inserted | torch.gather(valid, 1, source)
        passage = (column >= query_length) & valid
        query = valid & ~passage
        positions = torch.where(passage, torch.cumsum(passage.long(), 1), torch.cumsum(query.long(), 1)) - 1
        hidden = self.encoder.embeddings(
            input_ids=ids, token_type_ids=torch.zeros_like(ids), position_ids=positions.clamp(min=0)
        )
        same_text = (passage.unsqueeze(2) == passage.unsqueeze(1)) & valid.unsqueeze(1)
        apart = _additive(same_text, hidden.dtype)
        together = _additive(valid.unsqueeze(1).expand_as(same_text), hidden.dtype)
        layers: nn.ModuleList = self.encoder.encoder.layer
        first_joint = len(layers) - self.config.joint_layers
        for index, layer in enumerate(layers):
            gate = self.gates[index - first_joint] if index >= first_joint else None
            hidden = _layer(cast("BertLayer", layer), hidden, apart, together, gate)  # a ModuleList item
        cosine = nn.functional.cosine_similarity(_mean(hidden, query), _mean(hidden, passage), dim=-1)
        return self.scale * cosine + self.bias


def _layer(
    layer: BertLayer,
    hidden: torch.Tensor,
    apart: torch.Tensor,
    together: torch.Tensor,
    gate: torch.Tensor | None,
) -> torch.Tensor:
    # A BERT layer with two attention patterns mixed per head; written out because no
    # library layer takes a per-head mix of two masks. The submodules are the checkpoint's own.
    attention: BertSelfAttention = layer.attention.self
    batch, length, _ = hidden.shape
    shape = (batch, length, attention.num_attention_heads, attention.attention_head_size)
    q = attention.query(hidden).view(shape).transpose(1, 2)
    k = attention.key(hidden).view(shape).transpose(1, 2)
    v = attention.value(hidden).view(shape).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) * attention.scaling
    probabilities = torch.softmax(scores + apart, dim=-1)
    if gate is not None:
        across = torch.softmax(scores + together, dim=-1)
        probabilities = probabilities + gate.view(1, -1, 1, 1) * (across - probabilities)
    probabilities = attention.dropout(probabilities)
    context = torch.matmul(probabilities, v).transpose(1, 2).reshape(batch, length, -1)
    attended = layer.attention.output(context, hidden)
    return layer.output(layer.intermediate(attended), attended)


def _mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
