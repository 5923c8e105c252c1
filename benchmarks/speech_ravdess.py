"""Speech emotion figures: RAVDESS speaker-independent accuracy (prosody alone, transcript text alone, fused),
EmoDB cross-corpus accuracy, and the analyzer's real-time factor with ASR included.

usage: python benchmarks/speech_ravdess.py [--rtf-clips 24] [--data DIR]

Protocol: RAVDESS actors 1-14 fit the head, 15-18 choose its L2 penalty, temperature and fusion weight, the head
is refit on 1-18, and actors 19-24 (360 clips) are the test; accuracy over the 8 classes (chance 0.125). EmoDB
(German, eval only) is scored on the 6 classes it shares with RAVDESS (anger, disgust, fear, happiness, sadness,
neutral; 454 clips; chance about 0.17), by the RAVDESS head restricted to those classes. Two heads are trained:
prosody features only, and prosody + the mean Whisper encoder state. Features, embeddings and transcripts are
cached under runs/cache/speech (the first run computes them: about 15 minutes on 2 busy cores).

The real-time factor is wall-clock seconds of ``SpeechAnalyzer`` (decoding, prosody, Whisper tiny.en ASR, the text
model, fusion) over seconds of audio, on ``--rtf-clips`` test clips taken at an even stride, one file at a time,
Whisper on 2 threads, after one warm-up file.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import affectkit
    from affectkit.labels import get_labelset
    from affectkit.media.speech import SpeechAnalyzer
    from affectkit.media.speech_corpora import (
        EMODB_TO_RAVDESS,
        TEST_ACTORS,
        actor_split,
        load_emodb,
        load_ravdess,
    )
    from affectkit.media.speech_train import corpus_features, evaluate, train_ravdess_head

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="folder holding ravdess_speech/ and emodb/")
    ap.add_argument("--rtf-clips", type=int, default=24)
    args = ap.parse_args()
    root = Path(args.data) if args.data else None
    labelset = get_labelset("ravdess")
    shared = sorted(set(EMODB_TO_RAVDESS.values()), key=labelset.index)
    results: dict[str, dict] = {}
    heads = {}
    for variant, whisper in (("prosody", False), ("prosody+whisper", True)):
        head, report = train_ravdess_head(root / "ravdess_speech" if root else None, whisper=whisper, progress=None)
        heads[variant] = head
        emodb, _ = corpus_features(load_emodb(root / "emodb" if root else None), whisper, affectkit.load("default"),
                                   labelset)
        results[variant] = {"ravdess_test": {k: report[k] for k in ("prosody", "text", "fused")},
                            "l2": report["l2"], "text_weight": report["text_weight"],
                            "emodb_6_classes": evaluate(head, emodb, labelset, among=shared)}
        print(f"{variant:16s} RAVDESS 19-24 (8 classes, n={report['test_clips']}): prosody {report['prosody']:.3f}  "
              f"text {report['text']:.3f}  fused {report['fused']:.3f}  (L2 {report['l2']}, text weight "
              f"{report['text_weight']});  EmoDB (6 shared classes, n={len(emodb.x)}): "
              + "  ".join(f"{k} {v:.3f}" for k, v in results[variant]["emodb_6_classes"].items()))
    test = actor_split(load_ravdess(root / "ravdess_speech" if root else None), TEST_ACTORS)
    results["rtf"] = real_time_factor(heads["prosody+whisper"], test, args.rtf_clips, SpeechAnalyzer)
    print(f"real-time factor (ASR included, {results['rtf']['clips']} clips, {results['rtf']['audio_s']:.1f} s of "
          f"audio): {results['rtf']['rtf']:.3f}; median per clip {results['rtf']['median_clip_rtf']:.3f}; the "
          f"analyzer end to end is right on {results['rtf']['analyzer_accuracy']:.3f} of those clips")
    print(json.dumps(results, indent=1))


def real_time_factor(head, test, n: int, analyzer_cls) -> dict[str, float]:
    """Seconds of analysis per second of audio over ``n`` test files at an even stride (after a warm-up file), and
    the share of them the analyzer gets right end to end (decoding, Whisper, text model, fusion)."""
    import soundfile as sf

    files, gold = test.files, dict(zip(test.files, test.labels))

    with tempfile.TemporaryDirectory() as folder:
        head.save(folder)
        speech = analyzer_cls(head=folder, asr=True, cpu_threads=2)
        picks = files[:: max(1, len(files) // n)][:n]
        speech.analyze_batch([str(picks[0])])  # warm-up: loads the text model and Whisper
        wall, audio, per_clip, right = 0.0, 0.0, [], 0
        for f in picks:
            seconds = sf.info(str(f)).duration
            t0 = time.perf_counter()
            row = speech.analyze_batch([str(f)])
            spent = time.perf_counter() - t0
            if row.errors[0]:
                raise RuntimeError(f"{f}: {row.errors[0]}")
            wall, audio = wall + spent, audio + seconds
            per_clip.append(spent / seconds)
            right += row.labelset.labels[int(np.argmax(row.dist[0]))] == gold[f]
        speech.close()
    return {"clips": len(picks), "audio_s": round(audio, 2), "wall_s": round(wall, 2), "rtf": round(wall / audio, 4),
            "median_clip_rtf": round(float(np.median(per_clip)), 4), "analyzer_accuracy": round(right / len(picks), 4)}


if __name__ == "__main__":
    main()
