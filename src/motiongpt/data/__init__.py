"""motiongpt.data: datasets in HumanML3D layout.

- `layout`: `MotionDir` reader (features, joints, captions, normaliser) and the caption line format.
- `datasets`: torch datasets (`MotionWindowDataset`, `TextMotionDataset`) and typed, padded batches.
- `captions`: caption composition from Bandai labels, left/right swapping, HumanML3D POS tokens.
- `check`: `check_dir` / `motiongpt data check`.
- `bandai`: the shared build pipeline and `motiongpt data bandai`; `custom`: `motiongpt data custom`.

Submodules are imported explicitly (`from motiongpt.data.layout import MotionDir`) so that light users do
not pay for torch or spaCy.
"""
