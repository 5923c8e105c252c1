"""Write the pinned outputs of the shipped models (tests/fixtures/pinned_outputs.json) that
tests/test_pinned_outputs.py checks, so that a re-export or a refactor cannot change them silently.

    python scripts/pin_outputs.py          # only after a deliberate change of a shipped model; commit the file
"""

from __future__ import annotations

import json
from pathlib import Path

import affectkit

TEXTS = [
    "I can't believe you did this for me, thank you so much!",
    "This is the worst service I have ever had. Absolutely furious.",
    "I'm scared the results will come back bad tomorrow.",
    "The meeting is at 3pm in room 204.",
    "Wow, I did not expect that ending at all!",
    "I miss her every single day since she left.",
    "That smell in the fridge is disgusting.",
    "Honestly not sure how I feel about the new policy, it could go either way.",
]
MODELS = ("default", "fast")
LABELS = (None, "ekman", "plutchik")
OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pinned_outputs.json"


def outputs(model: str) -> dict:
    analyzer = affectkit.load(model)
    out: dict = {"info": {k: analyzer.info().get(k) for k in ("name", "labelset")}}
    for labels in LABELS:
        batch = analyzer.analyze_batch(TEXTS, labels)
        out[labels or "native"] = {"dist": batch.dist.round(5).tolist(),
                                   "vad": None if batch.vad is None else batch.vad.round(5).tolist()}
    return out


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"texts": TEXTS, "models": {m: outputs(m) for m in MODELS}}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
