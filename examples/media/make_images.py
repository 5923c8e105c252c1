"""Draw the two example images of the README: a cartoon face (smiley.png) and a sunset-like scene (sunset.png)."""

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent


def smiley(path: Path, size: int = 96) -> None:
    im = Image.new("L", (size, size), 90)
    d = ImageDraw.Draw(im)
    d.ellipse((10, 5, size - 10, size - 5), fill=200)
    d.ellipse((30, 35, 40, 45), fill=20)
    d.ellipse((size - 40, 35, size - 30, 45), fill=20)
    d.arc((30, 50, size - 30, 80), 0, 180, fill=20, width=3)
    im.save(path)


def sunset(path: Path, w: int = 320, h: int = 200) -> None:
    im = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(im)
    for y in range(h):
        t = y / h
        d.line([(0, y), (w, y)], fill=(int(250 - 80 * t), int(150 - 100 * t), int(60 + 90 * t)))
    d.ellipse((130, 90, 190, 150), fill=(255, 220, 120))
    d.rectangle((0, 150, w, h), fill=(20, 40, 90))
    im.save(path)


if __name__ == "__main__":
    smiley(HERE / "smiley.png")
    sunset(HERE / "sunset.png")
