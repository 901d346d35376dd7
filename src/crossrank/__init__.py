"""crossrank: cross-encoder reranking with a relevance gate for RAG.

Example:
    ```python
    from crossrank import CrossEncoderScorer, RelevancePolicy
    scorer = CrossEncoderScorer()
    result = scorer.rerank("How do I reset my password?",
                           ["Click 'Forgot password' on the login screen.", "Use a strong password."],
                           policy=RelevancePolicy(top_n=1, min_probability=0.2))
    result.verdict.value in {"relevant", "weak", "none"}
    # -> True
    ```

The LangChain and LlamaIndex adapters live in ``crossrank.langchain`` and
``crossrank.llama_index``; importing ``crossrank`` imports neither framework.

The names below are imported on first use (PEP 562): ``import crossrank`` and the
``crossrank`` command line start without loading transformers or torch, which only
the commands that score anything need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossrank.lazy import lazy_exports

if TYPE_CHECKING:
    from crossrank.cache import CacheInfo
    from crossrank.calibration import Calibration
    from crossrank.fusion import Fusion
    from crossrank.models import DEFAULT_MODEL, ModelNotAvailableError, resolve_model
    from crossrank.policy import RelevancePolicy
    from crossrank.results import DropReason, Gate, RankedDocument, RerankResult, Verdict
    from crossrank.scorer import CrossEncoderScorer
    from crossrank.scores import Score

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "CacheInfo": "crossrank.cache",
    "Calibration": "crossrank.calibration",
    "Fusion": "crossrank.fusion",
    "DEFAULT_MODEL": "crossrank.models",
    "ModelNotAvailableError": "crossrank.models",
    "resolve_model": "crossrank.models",
    "DropReason": "crossrank.results",
    "Gate": "crossrank.results",
    "RankedDocument": "crossrank.results",
    "RelevancePolicy": "crossrank.policy",
    "RerankResult": "crossrank.results",
    "Verdict": "crossrank.results",
    "CrossEncoderScorer": "crossrank.scorer",
    "Score": "crossrank.scores",
}

__all__ = [
    "DEFAULT_MODEL",
    "CacheInfo",
    "Calibration",
    "CrossEncoderScorer",
    "DropReason",
    "Fusion",
    "Gate",
    "ModelNotAvailableError",
    "RankedDocument",
    "RelevancePolicy",
    "RerankResult",
    "Score",
    "Verdict",
    "__version__",
    "resolve_model",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
