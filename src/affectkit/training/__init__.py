"""Training: ``affectkit train`` and ``fit`` in Python. Losses (one small class each), target aggregation,
calibration, static-embedding distillation, the training loop and the model card writer.

Needs the ``train`` extra (torch, transformers, onnx, model2vec). Inference never imports this package.

    >>> from affectkit.training import fit, train
    >>> model = fit(texts, labels, task="single-label")          # an AffectModel; model.path is its folder
    >>> train("configs/default.yaml", "runs/default")            # the same as `affectkit train`
"""

from affectkit.training.config import StaticOptions, TaskSpec, TrainConfig
from affectkit.training.estimator import AffectEstimator, fit
from affectkit.training.trainer import Trainer, train

__all__ = ["AffectEstimator", "StaticOptions", "TaskSpec", "TrainConfig", "Trainer", "fit", "train"]
