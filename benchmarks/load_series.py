"""Benchmark: load a full-size CT series (about 300 slices of 512x512) with quant.dicom.load.load_series.

Prints seconds per load (median of 5) for LungRead and, when SimpleITK is installed, for
SimpleITK's ImageSeriesReader on the same files (GetGDCMSeriesFileNames + Execute, i.e. what a
user of SimpleITK does to load a folder), plus the ratio LungRead / SimpleITK (goal <= 1.0).

The series is written once and cached (default: <tmp>/lungread-bench/load_series; override with
--cache). It is the full-size phantom when quant.phantom can write one, else a synthetic volume of
the same size.

    .venv/bin/python benchmarks/load_series.py [--repeats 5] [--cache DIR] [--syntax UID]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from quant.dicom.load import load_series  # noqa: E402
from quant.volume import Volume  # noqa: E402


def _write_series(folder: Path, syntax: str | None) -> str:
    """Write the benchmark series into ``folder``; return what was written."""
    try:
        from quant.phantom import make_scan, write_scan  # type: ignore[attr-defined]
    except ImportError:
        make_scan = write_scan = None
    if make_scan is not None and write_scan is not None:
        scan = make_scan(size="full", seed=0)
        write_scan(scan, folder / "phantom", transfer_syntax=syntax, seed=0)
        return "full-size phantom (quant.phantom)"
    from quant.dicom.write import write_series

    rng = np.random.default_rng(0)
    hu = rng.normal(-500.0, 350.0, size=(300, 512, 512)).clip(-1024, 2500).astype(np.int16)
    volume = Volume(hu=hu, spacing=(1.0, 0.7, 0.7), origin=(-179.0, -179.0, -300.0))
    write_series(volume, folder / "dicom", transfer_syntax=syntax)
    return "synthetic 300x512x512 volume (quant.phantom not available)"


def _series_dir(cache: Path) -> Path:
    dirs = sorted({p.parent for p in cache.rglob("*.dcm")})
    if len(dirs) != 1:
        raise SystemExit(f"expected one series folder under {cache}, found {len(dirs)}")
    return dirs[0]


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "lungread-bench")
    parser.add_argument("--syntax", default=None, help="transfer syntax UID (default uncompressed)")
    args = parser.parse_args(argv)

    cache = args.cache / ("load_series" + (f"-{args.syntax}" if args.syntax else ""))
    if not any(cache.rglob("*.dcm")):
        t0 = time.perf_counter()
        what = _write_series(cache, args.syntax)
        print(f"wrote {what} to {cache} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    folder = _series_dir(cache)
    n_files = len(list(folder.glob("*.dcm")))

    volume = load_series(folder)  # warm the page cache and check it loads
    print(f"series: {folder} ({n_files} files), volume {volume.shape} (z, y, x), spacing {volume.spacing} mm")
    try:
        import SimpleITK as sitk
    except ImportError:
        sitk = None

    def sitk_load():
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        return reader.Execute()

    # Alternate the two readers so that both see the same machine load (shared CI machines).
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.repeats):
        ours.append(_seconds(lambda: load_series(folder)))
        if sitk is not None:
            theirs.append(_seconds(sitk_load))
    ours_s = statistics.median(ours)
    print(f"lungread load_series: {ours_s:.3f} s per load (median of {args.repeats})")
    if sitk is None:
        print("SimpleITK not installed: no comparison")
        return 0
    theirs_s = statistics.median(theirs)
    print(f"SimpleITK ImageSeriesReader: {theirs_s:.3f} s per load (median of {args.repeats})")
    print(f"ratio lungread / SimpleITK: {ours_s / theirs_s:.2f} (goal <= 1.0)")
    image = sitk_load()  # keep a reference: an array view of a freed image crashes
    arr = sitk.GetArrayFromImage(image)
    same = arr.shape == volume.shape and np.array_equal(arr.astype(np.int32), volume.hu)
    print(f"same voxels as SimpleITK: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
