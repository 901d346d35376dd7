"""crossrank: cross-encoder reranking with a relevance gate for RAG.

Example:
    >>> from crossrank import CrossEncoderScorer, RelevancePolicy
    >>> scorer = CrossEncoderScorer()
    >>> result = scorer.rerank("How do I reset my password?",
    ...                        ["Click 'Forgot password' on the login screen.", "Use a strong password."],
    ...                        policy=RelevancePolicy(top_n=1, min_probability=0.2))
    >>> result.verdict.value in {"relevant", "weak", "none"}
    True

The LangChain and LlamaIndex adapters live in ``crossrank.langchain`` and
``crossrank.llama_index``; importing ``crossrank`` imports neither framework.
"""

from crossrank.cache import CacheInfo
from crossrank.calibration import Calibration
from crossrank.models import DEFAULT_MODEL, ModelNotAvailableError, resolve_model
from crossrank.policy import DropReason, RankedDocument, RelevancePolicy, RerankResult, Verdict
from crossrank.scorer import CrossEncoderScorer
from crossrank.scores import Score

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "CacheInfo",
    "Calibration",
    "CrossEncoderScorer",
    "DropReason",
    "ModelNotAvailableError",
    "RankedDocument",
    "RelevancePolicy",
    "RerankResult",
    "Score",
    "Verdict",
    "__version__",
    "resolve_model",
]
