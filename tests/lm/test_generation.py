import pytest
import torch

from motiongpt.lm.batch import IGNORE, collate
from motiongpt.lm.generation import GenerationError, GrammarProcessor, parse_chat, parse_motion, parse_text
from motiongpt.lm.templates import LMExample


def _ids(vocab, *parts):
    return torch.tensor([x for p in parts for x in (p if isinstance(p, list) else [p])])


def test_collation_pads_to_longest_only(vocab):
    exs = [LMExample(torch.tensor([5, 6, 1]), torch.tensor([7, 1])), LMExample(torch.tensor([5, 1]),
                                                                                  torch.tensor([7, 8, 9, 1]))]
    b = collate(exs, vocab.pad_id, causal=False)
    assert b.input_ids.shape == (2, 3) and b.labels.shape == (2, 4)
    assert b.attention_mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert b.labels[0].tolist() == [7, 1, IGNORE, IGNORE]
    c = collate(exs, vocab.pad_id, causal=True)
    assert c.input_ids.shape == c.labels.shape == (2, 6)
    assert c.labels[0].tolist() == [IGNORE, IGNORE, IGNORE, 7, 1, IGNORE]
    assert c.input_ids[1].tolist() == [5, 1, 7, 8, 9, 1]


def _greedy(processor, vocab, steps, rows):
    """Decode with random scores under the processor; returns generated ids (rows, steps)."""
    gen = torch.full((rows, 1), vocab.pad_id)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        scores = processor(gen, torch.randn(rows, vocab.size, generator=g))
        gen = torch.cat([gen, scores.argmax(-1, keepdim=True)], 1)
    return gen[:, 1:]


def test_grammar_forces_requested_motion_lengths_and_text_only_text(vocab):
    proc = GrammarProcessor(vocab, ["motion", "motion", "text", "chat"], [5, None, None, None], prompt_len=1,
                            max_motion=7)
    gen = _greedy(proc, vocab, 12, 4)
    assert gen[0, 0] == vocab.som_id and gen[0, 6] == vocab.eom_id and gen[0, 7] == vocab.eos_id
    assert torch.equal(parse_motion(gen[0], vocab), vocab.lm_to_motion(gen[0, 1:6]))
    n_free = len(parse_motion(gen[1], vocab))
    assert 1 <= n_free <= 7
    assert not vocab.is_motion(gen[2]).any() and not (gen[2] == vocab.som_id).any()
    assert int(gen.max()) < vocab.size and not (gen[:, 0] == vocab.pad_id).any()
    parse_chat(gen[3], vocab)  # well formed whatever the scores


def test_malformed_outputs_raise_typed_errors(vocab):
    m = vocab.motion_to_lm(torch.tensor([1, 2, 3])).tolist()
    words = vocab.encode_text("a person walks")
    with pytest.raises(GenerationError, match="text"):
        parse_motion(_ids(vocab, words, vocab.eos_id), vocab)
    with pytest.raises(GenerationError, match="no end-of-motion"):
        parse_motion(_ids(vocab, vocab.som_id, m), vocab)
    with pytest.raises(GenerationError, match="empty"):
        parse_motion(_ids(vocab, vocab.som_id, vocab.eom_id), vocab)
    with pytest.raises(GenerationError, match="non-motion"):
        parse_motion(_ids(vocab, vocab.som_id, m, words, vocab.eom_id), vocab)
    with pytest.raises(GenerationError, match="motion tokens"):
        parse_text(_ids(vocab, m, vocab.eos_id), vocab)
    with pytest.raises(GenerationError, match="empty text"):
        parse_text(_ids(vocab, vocab.eos_id), vocab)
    text, codes = parse_chat(_ids(vocab, words, vocab.som_id, m, vocab.eom_id, vocab.eos_id), vocab)
    assert text == "a person walks" and codes.tolist() == [1, 2, 3]
