"""Train the speech emotion head on RAVDESS with one command (non-commercial: RAVDESS is CC BY-NC-SA 4.0).

usage: python scripts/train_prosody.py [--data DIR] [-o DIR] [--no-whisper] [--text-model default]

Reads RAVDESS (``labels.csv`` and ``audio/``; default ``../shared/data/ravdess_speech`` or ``$AFFECTKIT_DATA``),
computes prosody features and Whisper embeddings and transcripts (cached under ``runs/cache/speech``, about
10 minutes the first time on 2 cores, seconds after), fits the head speaker-independently (actors 1-18, test
19-24; see affectkit.media.speech_train) and writes a head folder that ``media:speech`` finds by default
(``~/.cache/affectkit/speech-ravdess-nc``, or set ``AFFECTKIT_SPEECH_HEAD`` / pass ``head=`` for another place).
The folder's card and config state the non-commercial licence.
A head on other labelled clips: ``affectkit train`` with ``modality: audio`` (docs/training.md), which fits
with the same protocol (affectkit.media.speech_train.select_and_refit).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from affectkit.media.speech import DEFAULT_HEAD_DIR, HEAD_CONFIG
from affectkit.media.speech_train import LICENCE, model_card, train_ravdess_head


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="the ravdess_speech folder (labels.csv, audio/)")
    ap.add_argument("-o", "--output", default=str(DEFAULT_HEAD_DIR), help="head folder to write")
    ap.add_argument("--no-whisper", action="store_true",
                    help="prosody features only (no Whisper embedding in the head; transcripts still fuse)")
    ap.add_argument("--text-model", default="default", help="text model that scores transcripts")
    ap.add_argument("--cache", default="runs/cache/speech", help="feature cache folder")
    args = ap.parse_args()
    print(f"Training on RAVDESS. Licence: {LICENCE}. The head you get is for non-commercial use only.")
    head, report = train_ravdess_head(args.data, whisper=not args.no_whisper, text_model=args.text_model,
                                      cache_dir=args.cache)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    head.save(out)
    (out / "MODEL_CARD.md").write_text(model_card(head))
    (out / "LICENSE-NONCOMMERCIAL.txt").write_text(
        f"{LICENCE}.\nTrained on RAVDESS (Livingstone and Russo 2018, https://zenodo.org/record/1188976); "
        "commercial licences for RAVDESS are sold by its authors.\n")
    print(json.dumps(report, indent=1))
    print(f"wrote {out} ({HEAD_CONFIG}, head/, MODEL_CARD.md)")


if __name__ == "__main__":
    main()
