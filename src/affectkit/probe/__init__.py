"""Where emotion lives inside a language model: per-layer linear probes on the hidden states of every layer,
with controls (shuffled labels, a randomly initialised copy, bag of words). See ``docs/probe.md``."""

from affectkit.probe.extract import POOLINGS, HFStates, OnnxStates, load_states_model, pool
from affectkit.probe.linear import Probe, fit_logistic, fit_ridge, mean_pearson, score_with_ci
from affectkit.probe.run import LayerScore, ProbeOptions, run_probe

__all__ = [
           "POOLINGS",
           "HFStates",
           "LayerScore",
           "OnnxStates",
           "Probe",
           "ProbeOptions",
           "fit_logistic",
           "fit_ridge",
           "load_states_model",
           "mean_pearson",
           "pool",
           "run_probe",
           "score_with_ci",
]
