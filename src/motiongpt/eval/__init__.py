"""motiongpt.eval: the HumanML3D evaluation protocol.

- `metrics`: R-Precision, MM-Dist, FID, Diversity, MultiModality, ADE/FDE, 95% confidence intervals.
- `text_metrics`: BLEU@1..4, ROUGE-L, CIDEr (COCO-compatible) and BERTScore-F1 (local MiniLM).
- `evaluator`: the T2M text-motion evaluator (original checkpoint loading); `tmr`: MiniLM + transformer option.
- `words`: POS categories, GloVe vocabulary, caption processing for the T2M evaluator.
- `baselines`: retrieval baselines; `recon`: tokenizer reconstruction errors.
- `runner`: `motiongpt eval t2m|m2t|pred|inbetween|recon`.
"""
