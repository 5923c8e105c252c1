"""The model card (``README.md``) of a trained model folder, filled from the run's ``training.json``:
what the model is, the data and its licences, the exact command, the measured scores, and how to reproduce it
(Mitchell et al. 2019, "Model Cards for Model Reporting")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

# how to credit the built-in datasets (their SOURCE.md files give the full terms)
CITATIONS = {
    "goemotions": "Demszky et al. 2020, GoEmotions: A Dataset of Fine-Grained Emotions (ACL). Apache-2.0.",
    "emobank": "Buechel and Hahn 2017, EmoBank: Studying the Impact of Annotation Perspective and Representation "
                "Format on Dimensional Emotion Analysis (EACL). CC-BY-SA 4.0.",
}


def model_license(record: dict[str, Any]) -> tuple[str, list[str]]:
    """The licence a model inherits from its training data, and the notes that go with it: share-alike data
    (CC-BY-SA) makes the weights CC-BY-SA; non-commercial data is flagged. An explicit ``license`` in the config
    wins."""
    explicit = record["config"].get("license")
    licences = sorted({d.get("license") or "unknown" for d in record["data"].values()})
    notes = []
    if any("NC" in lic.upper() for lic in licences):
        notes.append("Trained on non-commercial data: the model may not be used commercially.")
    if any("SA" in lic.upper().split("-") for lic in licences):
        notes.append("Trained on share-alike (CC-BY-SA) data: the weights are shared under the same licence.")
        derived = "CC-BY-SA-4.0"
    elif licences == ["Apache-2.0"]:
        derived = "Apache-2.0"
    else:
        derived = " + ".join(licences)
    return explicit or derived, notes


def _fmt(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    if isinstance(v, list):
        return " / ".join(_fmt(x) for x in v)
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def render_model_card(record: dict[str, Any], model_config: dict[str, Any]) -> str:
    cfg = record["config"]
    lic, notes = model_license(record)
    enc = model_config["encoder"]["type"]
    if enc == "static":
        st = cfg.get("static", {})
        encoder = (f"static token embeddings (model2vec) distilled from `{cfg['base']}` (PCA {st.get('pca_dims')}, "
                   f"SIF {st.get('sif_coefficient')}, vocabulary: {st.get('vocabulary') or 'subword'}); numpy only")
    else:
        tuned = "fine-tuned" if cfg.get("fine_tune") else "frozen"
        quant = ("ONNX with int8 matrix products (per-token activations, per-channel weights)" if cfg.get("quantize")
                 else "float32 ONNX")
        encoder = f"`{cfg['base']}` ({tuned}), mean-pooled, {quant} on onnxruntime"
    lines = [f"---\nlicense: {lic.lower()}\nlibrary_name: affectkit\ntags: [emotion, affect, text-classification]\n---",
             f"# {model_config.get('name', cfg['name'])}", "", cfg.get("description") or "An affectkit model.", "",
             "## Model", f"- Encoder: {encoder}.",
             f"- Heads: {', '.join('`' + h + '`' for h in model_config['heads'])} (linear); primary label set "
             f"`{model_config.get('primary_labelset')}`.",
             "- Load: `affectkit.load(\"PATH\")` or `affectkit analyze INPUT --model PATH`.", "",
             "## Training data", "", "| head | dataset | train / dev / test rows | licence | sha256 (train) |",
             "|---|---|---|---|---|"]
    for head, d in record["data"].items():
        rows = " / ".join(str(d.get(f"{s}_rows", "-")) for s in ("train", "dev", "test"))
        role = " (auxiliary: trains the encoder, not in the folder)" if d.get("auxiliary") else ""
        lines.append(f"| {head}{role} | {d['dataset']} | {rows} | {d.get('license') or 'unknown'} | "
                     f"`{d['train_sha256'][:16]}` |")
    sources = [f"- {head}: {d['source']}" for head, d in record["data"].items() if d.get("source")]
    if sources:
        lines += ["", "Where the file datasets come from:"] + sources
    cites = [CITATIONS[d["dataset"]] for d in record["data"].values() if d["dataset"] in CITATIONS]
    if cites:
        lines += ["", "Attribution:"] + [f"- {c}" for c in dict.fromkeys(cites)]
    lines += ["", "## Licence", f"{lic}." + ("" if not notes else " " + " ".join(notes)), "",
              "## How it was trained", "```", record.get("command") or "(Python API: affectkit.training)", "```", "",
              f"Seed {record['seed']}, config digest `{record['config_digest']}`, base encoder sha256 "
              f"`{record['base']['sha256'][:16]}`, {record['train_seconds']} s on {record['machine']['cpus']} CPUs. "
              "Full config, data hashes and per-epoch dev scores: `training.json`.", "",
              "<details><summary>Config</summary>", "", "```yaml",
              yaml.safe_dump(cfg, sort_keys=False).rstrip(), "```", "</details>", "", "## Measured scores"]
    lines += score_lines(record)
    lines += ["", "## Limitations",
              "Scores hold for text like the training data (English; the domains above). Predictions are "
              "probabilities from a linear model over mean-pooled embeddings; thresholds were tuned on dev data. "
              "Do not use it to make decisions about people without human review.", ""]
    return "\n".join(lines)


def score_lines(record: dict[str, Any]) -> list[str]:
    """The run's scores from its ``training.json`` record: the best dev epoch's, then each head's test scores
    (the model card's "Measured scores", and the summary ``affectkit train`` prints at the end)."""
    lines = []
    best = max(record.get("history") or [{}], key=lambda h: h.get("selection_score") or -1)
    dev = {k: v for k, v in best.items() if k.endswith("_dev")}
    if dev:
        lines.append(f"Dev (epoch {best.get('epoch')}, thresholds tuned on dev): "
                     + "; ".join(f"{k} {_fmt(v)}" for k, v in dev.items()) + ".")
    test = record.get("test_metrics") or {}
    if test:
        lines += ["", "Test (calibrated thresholds from dev):", ""]
        lines += [f"- {k}: {_fmt(v)}" for k, v in test.items()]
    if not dev and not test:
        lines.append("No dev or test split was given, so no scores were measured.")
    return lines


def write_model_card(folder: Path, record: dict[str, Any]) -> Path:
    from affectkit.model import CONFIG_FILE

    model_config = json.loads((folder / CONFIG_FILE).read_text())
    path = folder / "README.md"
    path.write_text(render_model_card(record, model_config))
    return path
