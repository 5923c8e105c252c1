"""Synthesise the README's speech example (speech.ogg) with the eSpeak NG text-to-speech program.

    sudo apt-get install espeak-ng      # Debian / Ubuntu; any espeak-ng on PATH will do
    python examples/media/make_audio.py

eSpeak NG's voice is flat and robotic: its prosody carries little emotion, so the example shows the transcript
path (Whisper tiny.en, then the text model) more than the prosody head.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).parent
SENTENCE = "I can't believe it, we actually won! This is the best day of my life."


def speech(path: Path, text: str = SENTENCE) -> None:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found: sudo apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
        audio, rate = sf.read(wav)
    sf.write(path, audio, rate, format="OGG", subtype="VORBIS")


if __name__ == "__main__":
    speech(HERE / "speech.ogg")
    print("wrote", HERE / "speech.ogg")
