"""motiongpt.train: the generic `Trainer` (`engine`) and the per-stage entry points (`vq`, `lm`, `evaluator`)
behind `motiongpt train ...`; typed configs live in `motiongpt.config`, torch.distributed helpers in `motiongpt.dist`."""
