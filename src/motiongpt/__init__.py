"""motiongpt: human motion as a foreign language.

Data flow: motion (representation) -> data (datasets) -> tokenizer (VQ-VAE) -> lm (motion-language model)
-> eval / render / demo. `motiongpt.Pipeline` assembles the trained pieces for inference.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Pipeline", "__version__"]


def __getattr__(name: str):
    if name == "Pipeline":  # imported lazily: torch + transformers are heavy
        from motiongpt.lm.pipeline import Pipeline

        return Pipeline
    raise AttributeError(name)
