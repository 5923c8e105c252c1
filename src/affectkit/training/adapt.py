"""Give a model native heads: for every shipped label set, or for a user's own labelled rows (``affectkit adapt``).

Both use :func:`affectkit.training.transfer.fit_transfer_head` on the model's own (frozen) pooled vectors, so the
encoder, the other heads and the evidence words stay as they are, and a head costs a linear map at inference.

- :func:`add_shipped_heads` fits a head for each label set on every "ship" category dataset mapped onto it
  (GoEmotions, BRIGHTER, GoodNewsEveryone, PRemo, SMILE), dataset-balanced, calibrated on their dev splits.
- :func:`adapt` fits a head for the user's label set on the user's rows, together with the shipped datasets
  mapped onto that set (a prior that matters most when the user has few rows); the user's rows weigh as much as
  all the shipped data together, and calibration (temperature, thresholds) uses the user's held-out rows only.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from affectkit.datasets import EmotionDataset
from affectkit.labels import LabelSet, labelset_from_names
from affectkit.training.corpora import MAX_TRAIN_ROWS, SHIP, SPLITS, VectorCache, folder_digest, load_split
from affectkit.training.transfer import PROMPTS, TransferData, TransferHead, fit_transfer_head, label_prototypes

# label sets that get no head of their own: GoEmotions keeps its fine-tuned head; Parrott's 25 and 135 tiers are
# finer than any training data, so they are reached through mappings
# goemotions: the fine-tuned head; parrott-2/3: finer than any data; ravdess: a speech set whose acted sentences carry
# no emotion in their words, so the speech analyzer reads text through a mapping (as its figures were measured)
NO_TRANSFER_HEAD = ("goemotions", "goemotions-sentiment", "parrott-2", "parrott-3", "ravdess")


def shipped_data(embed: Callable[[list[str]], np.ndarray], datasets: Sequence[str] = SHIP,
                 exclude: Sequence[str] = ()) -> list[TransferData]:
    """The "ship" category datasets (train and dev splits) with their pooled vectors."""
    out = []
    for name in datasets:
        if name in exclude:
            continue
        train_split, dev_split, _ = SPLITS[name]
        train = load_split(name, train_split, MAX_TRAIN_ROWS)
        dev = load_split(name, dev_split) if dev_split else None
        out.append(TransferData(name, train, embed(train.texts), dev, embed(dev.texts) if dev is not None else None))
    return out


def model_embedder(model, cache_root: str | Path | None = "runs/cache/vectors") -> Callable[[list[str]], np.ndarray]:
    """A model's pooled vectors (evidence off), cached on disk under ``cache_root`` (keyed by its encoder's
    files) unless it is ``None``."""
    model.evidence = False
    if cache_root is None or model.path is None:
        return model.embed
    encoder = model.path / model.config["encoder"]["path"]
    return VectorCache(model.embed, f"{model.name}-{folder_digest(encoder)}", cache_root)


# where each "ship" dataset comes from and under which terms (the loaders' ``license``; docs cite the papers)
ATTRIBUTION = {
    "goemotions": "GoEmotions (Demszky et al. 2020), Reddit comments; Apache-2.0",
    "brighter": "BRIGHTER English / SemEval-2025 Task 11 (Muhammad et al. 2025), Reddit sentences; CC BY 4.0",
    "gne": "GoodNewsEveryone (Bostan, Kim and Klinger 2020), news headlines; annotations CC BY 4.0, headlines the "
           "publishers' (used to train, never redistributed)",
    "premo": "PRemo (Coutinho et al. 2025), GitHub pull-request comments with 3 annotators' votes as soft labels; "
             "MIT License, Copyright (c) 2025 Daniel Coutinho (the notice and permission text of the MIT License "
             "apply)",
    "smile": "SMILE (Wang et al. 2016), tweets to UK museums; annotations CC BY, tweets Twitter's (used to train, "
             "never redistributed)",
}
CARD_START, CARD_END = "<!-- transfer-heads:start -->", "<!-- transfer-heads:end -->"


def transfer_card(record: dict) -> str:
    """The model-card section that lists the transfer heads and every dataset behind them."""
    heads = record.get("transfer_heads", {})
    if not heads:
        return ""
    first = _representative(heads)
    rows = "\n".join(f"| {name} | {d['train']:,} / {d['dev']:,} | {ATTRIBUTION.get(name, 'see its loader')} |"
                      for name, d in first["datasets"].items())
    power = first.get("prior_power", 0.0)
    adjusted = (f"; the training mix's label prior divided out of the softmax to the power {power} (logit "
                "adjustment, Menon et al. 2021: the mix's prior comes from which datasets were pooled, not from "
                "your domain)" if power else "")
    scale = first.get("prototype_scale", 0.0)
    templates = " / ".join(f'"{t}"' for t in _prompts(first))
    prototypes = (f"; each label's name read as well: {scale} times the text's similarity to the encoder's mean "
                  f"unit vector of {templates} (the label's name in the blank) added to its log-probability (label "
                  "prototypes, docs/cross-domain.md)" if scale else "")
    return (f"{CARD_START}\n## Label-set transfer heads\n\n"
            f"Heads of their own for {len(heads)} label sets ({', '.join(sorted(heads))}), each a linear map on this "
            "model's frozen pooled vectors, fit on every dataset below with its gold mapped onto the label set "
            "(`affectkit labels map`), every dataset weighing alike, a label that a dataset has no name for left out "
            "of the loss on that dataset's emotional rows, and calibrated (temperature, per-label "
            f"thresholds, a fallback rule) on their dev rows; L2 penalty {first['l2']}{adjusted}{prototypes}. The "
            "encoder and "
            "the heads above are unchanged. Rebuilt by `python scripts/transfer_heads.py <this folder>` (same "
            "settings); what "
            "each head was fit on is under `transfer_heads` in training.json; cross-domain scores: `python "
            "benchmarks/cross_domain.py`.\n\n| dataset | train / dev rows | source and licence |\n|---|---|---|\n"
            f"{rows}\n\nThe model's licence stays CC-BY-SA-4.0 (EmoBank is share-alike); the CC BY and MIT sets ask "
            f"for the attribution above.\n{CARD_END}\n")


def _replace_card_section(card: Path, section: str) -> None:
    text = card.read_text() if card.exists() else ""
    if CARD_START in text and CARD_END in text:
        a, b = text.index(CARD_START), text.index(CARD_END) + len(CARD_END) + 1
        text = text[:a] + section + text[b:]
    elif section:
        text = text.rstrip("\n") + "\n\n" + section
    card.write_text(text)


def write_heads(folder: str | Path, heads: Sequence[TransferHead], section: str, primary: str | None = None) -> None:
    """Save ``heads`` into a model folder (``heads/<label set>/``), list them in ``affectkit_model.json`` and record
    what each was fit on under ``section`` in ``training.json``."""
    folder = Path(folder)
    cfg_path = folder / "affectkit_model.json"
    cfg = json.loads(cfg_path.read_text())
    record_path = folder / "training.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    for head in heads:
        rel = f"heads/{head.labelset.name}"
        head.to_category_head().save(folder / rel)
        if rel not in cfg["heads"]:
            cfg["heads"].append(rel)
        record.setdefault(section, {})[head.labelset.name] = head.record
    if primary:
        cfg["primary_labelset"] = primary
    cfg_path.write_text(json.dumps(cfg, indent=2))
    record_path.write_text(json.dumps(record, indent=2))
    if section == "transfer_heads":
        _replace_card_section(folder / "README.md", transfer_card(record))


def _training_record(folder: str | Path) -> dict:
    record_path = Path(folder) / "training.json"
    return json.loads(record_path.read_text()) if record_path.exists() else {}


def trained_labelsets(folder: str | Path) -> set[str]:
    """The label sets a model folder has heads for from its own training run (not transfer or adapted heads)."""
    tasks = _training_record(folder).get("config", {}).get("tasks", [])
    return {t.get("labelset") for t in tasks if t.get("type") == "categories" and not t.get("auxiliary")}


def transfer_setting(folder: str | Path, key: str = "l2", default: float = 0.1) -> float:
    """A setting that a model folder's transfer heads were fit with (``l2``; ``prior_power``), each chosen per
    encoder on the leave-one-dataset-out mean (docs/cross-domain.md), so that refitting or adapting keeps it;
    ``default`` for a folder without transfer heads, or heads fit before the setting existed. Read from the heads
    fit on several datasets: `multilingual`'s GoEmotions head, fit on GoEmotions alone, keeps its own prior."""
    heads = _training_record(folder).get("transfer_heads", {})
    return float(_representative(heads).get(key, default)) if heads else default


def transfer_settings(folder: str | Path) -> dict[str, float]:
    """Every setting a model folder's transfer heads were fit with, as keyword arguments of
    :func:`~affectkit.training.transfer.fit_transfer_head` (L2 penalty, prior power, prototype scale)."""
    return {"l2": transfer_setting(folder, "l2"), "prior_power": transfer_setting(folder, "prior_power", 0.0),
            "prototype_scale": transfer_setting(folder, "prototype_scale", 0.0)}


def transfer_prompts(folder: str | Path) -> tuple[str, ...]:
    """The prompt templates of a model folder's label prototypes (:data:`~affectkit.training.transfer.PROMPTS` for
    a folder without them), so that refitting or adapting reads the label names as its heads do."""
    heads = _training_record(folder).get("transfer_heads", {})
    return _prompts(_representative(heads)) if heads else PROMPTS


def _prompts(record: dict) -> tuple[str, ...]:
    if "prototype_prompts" in record:
        return tuple(record["prototype_prompts"])
    return (record["prototype_prompt"],) if "prototype_prompt" in record else PROMPTS  # one template: earlier records


def _representative(heads: dict) -> dict:
    """The record of the first transfer head fit on several datasets (else the first): the one whose settings
    and datasets stand for all of them, not a head fit on one dataset alone."""
    records = list(heads.values())
    return next((r for r in records if len(r.get("datasets", {})) > 1), records[0])


def add_shipped_heads(folder: str | Path, labelsets: Sequence[str] | None = None, l2: float | None = None,
                      balance: float = 1.0, progress: Callable[[str], None] | None = print,
                      prior_power: float | None = None, prototype_scale: float | None = None,
                      prompts: Sequence[str] | None = None) -> list[TransferHead]:
    """Fit and write a transfer head for each shipped label set: by default every set but
    :data:`NO_TRANSFER_HEAD` and those the model already has a head for from its own training. ``l2``,
    ``prior_power``, ``prototype_scale`` (:func:`affectkit.training.transfer.fit_transfer_head`) and the
    prototypes' ``prompts``: by default those the folder's transfer heads already use (:func:`transfer_settings`,
    :func:`transfer_prompts`)."""
    from affectkit.labels import list_labelsets
    from affectkit.model import AffectModel

    settings = transfer_settings(folder)
    given = {"l2": l2, "prior_power": prior_power, "prototype_scale": prototype_scale}
    settings.update({k: v for k, v in given.items() if v is not None})
    templates = tuple(prompts) if prompts else transfer_prompts(folder)
    model = AffectModel.load(folder)
    fine_tuned = trained_labelsets(folder)
    names = list(labelsets) if labelsets else [ls.name for ls in list_labelsets()
                                                if ls.name not in NO_TRANSFER_HEAD and ls.name not in fine_tuned]
    embed = model_embedder(model)
    data = shipped_data(embed)
    heads = []
    for name in names:
        t0 = time.time()
        head = fit_transfer_head(name, data, l2=settings["l2"], balance=balance, prior_power=settings["prior_power"],
                                 prototypes=label_prototypes(embed, name, templates),
                                 prototype_scale=settings["prototype_scale"])
        head.record["seconds"] = round(time.time() - t0, 1)
        heads.append(head)
        if progress:
            progress(f"{name}: fit in {time.time() - t0:.0f} s")
    write_heads(folder, heads, "transfer_heads")
    return heads


def user_labelset(ds: EmotionDataset, name: str | None) -> EmotionDataset:
    """The user's rows over a label set whose labels are anchored on Parrott's tree (a registered set when the
    labels are exactly one), so that the shipped datasets can be mapped onto it."""
    assert ds.labelset is not None and ds.categories is not None
    ls, order = labelset_from_names(list(ds.labelset.labels), name or ds.labelset.name, "labels of adapted data",
                                    "user data")
    cats = np.asarray(ds.categories)
    y = np.zeros((len(ds), len(ls)), dtype=np.float64)
    for j, src in enumerate(order):
        y[:, j] = cats[:, src]
    ds.labelset, ds.categories = ls, y
    return ds


def split_rows(n: int, dev_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of ``n`` rows into (train, dev) positions, each in order."""
    perm = np.random.default_rng(seed).permutation(n)
    k = int(round(n * dev_fraction)) if n >= 10 else 0
    return np.sort(perm[k:]), np.sort(perm[:k])


def fit_adapted_head(embed: Callable[[list[str]], np.ndarray], ds: EmotionDataset, labelset: LabelSet,
                     with_shipped: bool = True, user_weight: float | None = None, dev_fraction: float = 0.2,
                     l2: float = 0.1, seed: int = 13, shipped: list[TransferData] | None = None,
                     prior_power: float = 0.0, prototype_scale: float = 0.0,
                     prompts: Sequence[str] = PROMPTS) -> TransferHead:
    """A head over ``labelset`` fit on the user's rows ``ds`` (plus the shipped datasets mapped onto it).
    ``prior_power`` and ``prototype_scale``: the logit adjustment and the label prototypes (the user's label names)
    of :func:`~affectkit.training.transfer.fit_transfer_head` (the latter from the templates ``prompts``), both
    calibrated on the user's held-out rows."""
    train_rows, dev_rows = split_rows(len(ds), dev_fraction, seed)
    train, dev = ds.subset(train_rows), ds.subset(dev_rows) if len(dev_rows) else None
    x = embed(ds.texts)
    others = [] if not with_shipped else (shipped if shipped is not None else shipped_data(embed))
    others = [TransferData(o.name, o.train, o.x_train, o.dev, o.x_dev, calibrate=False) for o in others]
    weight = float(len(others)) if user_weight is None else user_weight
    user = TransferData("user", train, x[train_rows], dev, x[dev_rows] if dev is not None else None,
                        weight=max(weight, 1.0))
    prototypes = label_prototypes(embed, labelset, prompts) if prototype_scale else None
    head = fit_transfer_head(labelset, [user, *others], l2=l2, balance=1.0, prior_power=prior_power,
                             prototypes=prototypes, prototype_scale=prototype_scale)
    head.record.update({"user_rows": len(ds), "user_train": len(train_rows), "user_dev": len(dev_rows),
                        "with_shipped": with_shipped, "user_weight": max(weight, 1.0)})
    return head


def adapt(model: str | Path, ds: EmotionDataset, output: str | Path, labelset_name: str | None = None,
          with_shipped: bool = True, dev_fraction: float = 0.2, l2: float | None = None, seed: int = 13,
          command: str | None = None, label_names: bool = True) -> Path:
    """Copy ``model`` to ``output`` with a head for the user's label set, made the model's primary label set.
    ``l2``: by default the penalty of the model's transfer heads; their label prototypes too
    (:func:`transfer_settings`, :func:`transfer_prompts`) unless ``label_names`` is false (labels that are codes,
    not words)."""
    import affectkit
    from affectkit.model import AffectModel

    loaded = affectkit.load(str(model)) if not isinstance(model, Path) else AffectModel.load(model)
    if not isinstance(loaded, AffectModel) or loaded.path is None:
        raise ValueError(f"adapt needs an affectkit model folder or shipped model, not {model!r}")
    ds = user_labelset(ds, labelset_name)
    assert ds.labelset is not None
    t0 = time.time()
    settings = transfer_settings(loaded.path)
    head = fit_adapted_head(model_embedder(loaded, cache_root=None), ds, ds.labelset, with_shipped, None,
                            dev_fraction, settings["l2"] if l2 is None else l2, seed,
                            prototype_scale=settings["prototype_scale"] if label_names else 0.0,
                            prompts=transfer_prompts(loaded.path))
    out = Path(output)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(loaded.path, out)
    head.record.update({"seconds": round(time.time() - t0, 1), "base_model": loaded.name, "command": command})
    write_heads(out, [head], "adapted_heads", primary=head.labelset.name)
    card = out / "README.md"
    note = (f"\n\n## Adapted head: {head.labelset.name}\n\nAdded by `affectkit adapt` on {len(ds)} user rows "
            f"({head.record['user_train']} to train, {head.record['user_dev']} held out for calibration) "
            f"over the labels {', '.join(head.labelset.labels)}"
            + (", with the shipped datasets mapped onto them as a prior" if with_shipped else "") + ". "
            "It is the model's primary label set now; the other heads are unchanged.\n")
    card.write_text((card.read_text() if card.exists() else "") + note)
    return out
