"""Quiet third-party output during ``affectkit train``: transformers' weight-loading reports and progress bars,
and the tracer warnings of the ONNX export, which say nothing the user can act on."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

# messages of the ONNX export (torch.onnx tracing a transformers model) that are expected and harmless
_EXPORT_WARNINGS = (r"Converting a tensor to a Python boolean", r"Exporting aten::index operator",
                    r".*TracerWarning", r"Constant folding", r"The shape inference of")


@contextlib.contextmanager
def third_party_quiet() -> Iterator[None]:
    """Within the block: transformers logs only errors and shows no progress bars (nor does huggingface_hub),
    and the export's expected warnings are not shown. Everything is restored afterwards."""
    saved_env = os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS")
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    restore = None
    try:
        from transformers.utils import logging as hf_logging

        level = hf_logging.get_verbosity()
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

        def restore() -> None:
            hf_logging.set_verbosity(level)
            if bars:
                hf_logging.enable_progress_bar()
    except ImportError:  # the train extra is not installed: nothing to quiet
        pass
    try:
        with warnings.catch_warnings():
            for pattern in _EXPORT_WARNINGS:
                warnings.filterwarnings("ignore", message=pattern)
            try:
                from torch.jit import TracerWarning

                warnings.filterwarnings("ignore", category=TracerWarning)
            except ImportError:
                pass
            yield
    finally:
        if restore is not None:
            restore()
        if saved_env is None:
            os.environ.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
        else:
            os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = saved_env
