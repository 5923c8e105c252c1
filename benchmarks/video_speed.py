"""Video analysis speed: seconds of video analysed per second of wall clock (faces over sampled frames and speech
over the audio track, ASR included).

usage: python benchmarks/video_speed.py --head DIR [--seconds 60] [--fps 2]

The video is made here: 640x360 MPEG-4 (Part 2) frames at 25 fps (a moving gradient, so the face detector
searches every sampled frame and finds nothing) with a RAVDESS clip looped as its audio track when the corpus is
there, else a voiced-like tone. Synthetic frames mean no face reaches the expression model, so the figure covers
decoding, detection and speech, not classification (about 2 ms per face, docs/media.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def make_video(path: Path, seconds: int, audio: np.ndarray) -> None:
    import av

    sr = 16_000
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=25)
        v.width, v.height, v.pix_fmt = 640, 360, "yuv420p"
        a = out.add_stream("aac", rate=sr)
        a.layout = "mono"
        ramp = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None]
        for i in range(seconds * 25):
            img = np.broadcast_to((ramp + 3 * i) % 256, (360, 640, 3)).astype(np.uint8)
            out.mux(v.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")))
        out.mux(v.encode(None))
        track = np.resize(audio, seconds * sr).astype(np.float32)
        for start in range(0, len(track), 1024):
            frame = av.AudioFrame.from_ndarray(track[None, start:start + 1024], format="flt", layout="mono")
            frame.sample_rate = sr
            out.mux(a.encode(frame))
        out.mux(a.encode(None))


def main() -> None:
    from affectkit.media.audio import load_audio
    from affectkit.media.speech_corpora import default_data_root
    from affectkit.media.video import VideoAnalyzer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--head", required=True, help="speech head folder (scripts/train_prosody.py)")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--fps", type=float, default=2.0)
    args = ap.parse_args()
    clip = default_data_root() / "ravdess_speech" / "audio" / "03-01-05-02-01-01-14.ogg"
    t = np.arange(16_000 * 3) / 16_000
    audio = load_audio(clip) if clip.exists() else (0.2 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        make_video(path, args.seconds, np.asarray(audio, np.float32))
        video = VideoAnalyzer(fps=args.fps, speech_head=args.head)
        t0 = time.perf_counter()
        segs = video.analyze_segments_batch([str(path)])
        wall = time.perf_counter() - t0
    print(f"{args.seconds} s of 640x360 video at {args.fps:g} analysed frames/s with speech (ASR included): "
          f"{wall:.1f} s wall, {args.seconds / wall:.1f}x real time; {len(segs)} timeline rows, errors "
          f"{sorted({e for e in segs.errors if e}) or 'none'}, transcript of the first window: "
          f"{segs.extra['transcript'][0]!r}")


if __name__ == "__main__":
    main()
