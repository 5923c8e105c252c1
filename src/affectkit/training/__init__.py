"""Training: losses (one small class each), target aggregation, and the fine-tuning loop behind ``affectkit train``.

Needs the ``train`` extra (torch, transformers, onnx). Inference never imports this package.
"""
