"""Video emotion: faces over sampled frames and speech over the audio track, as a timeline and a summary row.

The video stream is decoded once with PyAV, keeping ``fps`` frames per second (default 2); each kept frame goes
through the face analyzer's detector and expression model (:mod:`affectkit.media.face`), and the faces of a time
window are averaged, weighted by face area. The audio track goes through :class:`~affectkit.media.speech.SpeechAnalyzer`
in windows of the same length. Each window of the timeline (``--segments``) is the mean of the parts it has, face and
speech counting alike (late fusion by averaging, the simplest of the audio-visual fusion baselines), over the face
analyzer's label set (speech is mapped onto it through the label mappings); the file's row is the mean of the
windows weighted by how many parts each has. Memory stays bounded: one frame and one audio window at a time.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np

from affectkit.media.base import MediaAnalyzer, MediaError
from affectkit.schema import BatchPrediction

log = logging.getLogger(__name__)

DEFAULT_FPS = 2.0
DEFAULT_WINDOW_S = 10.0


class VideoAnalyzer(MediaAnalyzer):
    """Faces and speech of a video, one row per time window (``--segments``) or one per file.

    Options: ``fps`` (frames analysed per second), ``window_s`` (timeline step, 1..20 s), ``speech`` (False: faces
    only), and ``speech_*`` / ``face_*`` keyword options passed on to the two analyzers (e.g. ``speech_head=DIR``).
    """

    name = "video"
    modality = "video"
    accepts: ClassVar[tuple[str, ...]] = ("video",)
    fields: ClassVar[tuple[str, ...]] = ("n_faces", "face_emotion", "speech_emotion")

    def __init__(self, fps: float | str = DEFAULT_FPS, window_s: float | str = DEFAULT_WINDOW_S,
                 speech: bool | str = True, **options: Any) -> None:
        from affectkit.media.registry import make_media_analyzer
        from affectkit.media.speech import as_bool

        self.fps, self.window_s, speech = float(fps), float(window_s), as_bool(speech)
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        face_opts = {k[5:]: v for k, v in options.items() if k.startswith("face_")}
        speech_opts = {k[7:]: v for k, v in options.items() if k.startswith("speech_")}
        unknown = [k for k in options if not k.startswith(("face_", "speech_"))]
        if unknown:
            raise MediaError(f"unknown video option(s) {', '.join(unknown)}: "
                             "use fps, window_s, speech, face_*, speech_*")
        self.face: Any = make_media_analyzer("face", **face_opts)
        self.speech: Any = None
        self.speech_reason: str | None = "speech turned off (speech=False)"
        if speech:
            try:
                self.speech = make_media_analyzer("speech", window_s=self.window_s, **speech_opts)
                self.speech_reason = None
            except MediaError as e:  # no prosody head and no ASR: faces only, said in info()
                self.speech_reason = str(e)
                log.warning("video without speech: %s", e)
        super().__init__(self.face.labelset)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "fps": self.fps, "window_s": self.window_s,
                "speech": self.speech_reason or self.speech.info()}

    # -- parts -------------------------------------------------------------------------------------------------------
    def face_windows(self, path: str) -> dict[int, tuple[np.ndarray, int]]:
        """Window index -> (area-weighted mean FER distribution of the window's faces, number of faces)."""
        import av

        sums: dict[int, np.ndarray] = {}
        weights: dict[int, float] = {}
        counts: dict[int, int] = {}
        try:
            container = av.open(path)
        except Exception as e:  # noqa: BLE001 - PyAV raises many error types
            raise MediaError(f"unsupported or corrupt video: {type(e).__name__}: {e}") from None
        with container:
            if not container.streams.video:
                raise MediaError("no video stream in the file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            next_t = 0.0
            try:
                for frame in container.decode(stream):
                    t = float(frame.time) if frame.time is not None else next_t
                    if t + 1e-6 < next_t:
                        continue
                    next_t = t + 1.0 / self.fps
                    self._add_frame(frame.to_ndarray(format="gray"), int(t // self.window_s), sums, weights, counts)
            except av.error.FFmpegError as e:
                raise MediaError(f"cannot decode video after {next_t:.1f} s: {e}") from None
        return {w: (sums[w] / weights[w], counts[w]) for w in sums if weights[w] > 0}

    def _add_frame(self, gray: np.ndarray, window: int, sums: dict, weights: dict, counts: dict) -> None:
        from affectkit.media.face import square_crop

        boxes = self.face.detector.detect(np.ascontiguousarray(gray))
        if len(boxes) == 0:
            return
        crops = np.stack([square_crop(gray, b, self.face.options.margin) for b in boxes])
        probs = self.face.model(crops, self.face.options.flip)
        area = np.array([float(b[2] * b[3]) for b in boxes])
        sums[window] = sums.get(window, 0.0) + area @ probs
        weights[window] = weights.get(window, 0.0) + float(area.sum())
        counts[window] = counts.get(window, 0) + len(boxes)

    def speech_windows(self, path: str) -> tuple[dict[int, tuple[np.ndarray, str | None]], str | None]:
        """Window index -> (speech distribution mapped onto the face label set, transcript); and why there is
        no speech part, if there is none."""
        if self.speech is None:
            return {}, self.speech_reason
        try:
            segs = self.speech.analyze_segments(path)
        except MediaError as e:  # no audio stream, undecodable audio: the faces still count
            return {}, str(e)
        mapped = segs.to_labelset(self.labelset)
        out = {}
        for i, (start, err) in enumerate(zip(segs.extra["start"], segs.errors)):
            if err is None:
                out[round(start / self.window_s)] = (mapped.dist[i], segs.extra["transcript"][i])
        return out, None

    # -- one file ----------------------------------------------------------------------------------------------------
    def analyze_segments(self, path: str) -> BatchPrediction:
        faces = self.face_windows(path)
        speech, why_not = self.speech_windows(path)
        windows = sorted(set(faces) | set(speech))
        if not windows:
            raise MediaError("no face in any sampled frame and no speech" + (f" ({why_not})" if why_not else ""))
        k = len(self.labelset)
        dist = np.zeros((len(windows), k))
        extra: dict[str, list] = {key: [] for key in ("start", "end", "transcript", "n_faces", "face_emotion",
                                                      "speech_emotion", "weight")}
        labels = self.labelset.labels
        for row, w in enumerate(windows):
            parts = [p for p in (faces.get(w, (None,))[0], speech.get(w, (None,))[0]) if p is not None]
            dist[row] = np.mean(parts, axis=0)
            extra["start"].append(round(w * self.window_s, 3))
            extra["end"].append(round((w + 1) * self.window_s, 3))
            extra["transcript"].append(speech[w][1] if w in speech else None)
            extra["n_faces"].append(faces[w][1] if w in faces else 0)
            extra["face_emotion"].append(labels[int(np.argmax(faces[w][0]))] if w in faces else None)
            extra["speech_emotion"].append(labels[int(np.argmax(speech[w][0]))] if w in speech else None)
            extra["weight"].append(float(len(parts)))
        return self._rows(dist, extra)

    def _rows(self, dist: np.ndarray, extra: dict[str, list]) -> BatchPrediction:
        from affectkit.vad import distribution_to_vad

        n = len(dist)
        dist = dist / dist.sum(axis=1, keepdims=True)
        vad = np.full((n, 3), np.nan)
        vad[:, :2] = distribution_to_vad(dist, self.labelset)[0]
        neutral = self.labelset.index(self.labelset.neutral) if self.labelset.neutral else None
        intensity = 1.0 - dist[:, neutral] if neutral is not None else dist.max(axis=1)
        return BatchPrediction(self.labelset, dist, vad=vad, intensity=intensity, model=self.name, extra=extra)

    def summarize(self, path: str, segments: BatchPrediction) -> BatchPrediction:
        row = super().summarize(path, segments)
        row.extra["n_faces"] = [int(sum(segments.extra["n_faces"]))]
        spoken = [t for t in segments.extra["transcript"] if t]
        row.extra["transcript"] = [" ".join(spoken) if spoken else None]
        return row

    def close(self) -> None:
        for part in (self.face, self.speech):
            if part is not None:
                part.close()
        super().close()


__all__ = ["VideoAnalyzer"]
