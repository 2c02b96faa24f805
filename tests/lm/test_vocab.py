import pytest
import torch

from motiongpt.lm.vocab import MotionVocab, VocabError, motion_token, train_text_tokenizer


def test_motion_tokens_are_contiguous_and_convert_by_offset(vocab):
    codes = torch.arange(vocab.codebook_size)
    ids = vocab.motion_to_lm(codes)
    assert ids.tolist() == list(range(vocab.motion_offset, vocab.motion_offset + vocab.codebook_size))
    assert vocab.tokenizer.convert_tokens_to_ids([motion_token(3)]) == [int(ids[3])]
    assert torch.equal(vocab.lm_to_motion(ids), codes)
    assert vocab.is_motion(ids).all()
    assert not vocab.is_motion(torch.tensor([vocab.som_id, vocab.eom_id, vocab.mask_id, vocab.eos_id])).any()
    assert vocab.size == vocab.mask_id + 1


def test_out_of_range_codes_and_non_motion_ids_raise(vocab):
    with pytest.raises(VocabError, match="codes must lie"):
        vocab.motion_to_lm(torch.tensor([vocab.codebook_size]))
    with pytest.raises(VocabError, match="not motion tokens"):
        vocab.lm_to_motion(torch.tensor([vocab.eos_id]))


def test_special_ids_are_t5_like_and_text_round_trips(vocab):
    assert (vocab.pad_id, vocab.eos_id) == (0, 1)
    text = "a person walks 120 frames"
    assert vocab.decode_text(vocab.encode_text(text)) == text


def test_save_and_reload(vocab, tmp_path):
    vocab.save_pretrained(tmp_path)
    again = MotionVocab.from_pretrained(tmp_path)
    assert again.metadata() == vocab.metadata()
    assert again.encode_text("someone waves") == vocab.encode_text("someone waves")
    with pytest.raises(VocabError, match="not found"):
        MotionVocab.from_pretrained(tmp_path / "missing")


def test_building_twice_is_rejected(vocab):
    with pytest.raises(VocabError, match="already contains motion tokens"):
        MotionVocab.build(vocab.tokenizer, 16)


def test_training_the_caption_tokenizer_twice_gives_the_same_ids():
    captions = ["a person walks forward slowly", "someone waves the right hand", "a man kicks"] * 10
    first, second = (train_text_tokenizer(captions, vocab_size=300) for _ in range(2))
    assert first.backend_tokenizer.to_str() == second.backend_tokenizer.to_str()
    assert first.encode("a woman, 12 kicks! xq") == second.encode("a woman, 12 kicks! xq")
