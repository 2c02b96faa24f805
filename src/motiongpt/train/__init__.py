"""motiongpt.train: typed configs (`config`), the generic `Trainer` (`engine`), torch.distributed helpers
(`distributed`) and the per-stage entry points (`vq`, `lm`, `evaluator`) behind `motiongpt train ...`."""
