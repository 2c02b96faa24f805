"""motiongpt.tokenizer: the VQ-VAE motion tokenizer (`vqvae.MotionTokenizer`, stage 1) and the token cache
behind `motiongpt tokenize` (`cache`)."""
from motiongpt.tokenizer.vqvae import MotionTokenizer, TokenizerConfig, blend_decoders

__all__ = ["MotionTokenizer", "TokenizerConfig", "blend_decoders"]
