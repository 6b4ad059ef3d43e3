"""``lungread snapshot SERIES_DIR --out FILE.png [--segment] [--size 1600x1200]``.

Renders the axial, coronal, sagittal and 3D views (with label overlays when ``--segment`` is
given) into one PNG, offscreen: no X server or GPU is needed (VTK EGL/Mesa). Prints the PNG path
on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="render the four views of a CT series into a PNG (offscreen)",
        description="Render axial, coronal, sagittal and 3D views of a CT series into one PNG, "
        "without a display.",
    )
    parser.add_argument("series_dir", type=Path, metavar="SERIES_DIR",
                        help="folder holding the DICOM series (searched recursively)")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.png", help="PNG to write")
    parser.add_argument("--segment", action="store_true",
                        help="segment lungs and lesions first and draw them as overlays")
    parser.add_argument("--size", default="1600x1200", metavar="WxH",
                        help="image size in pixels (default 1600x1200)")
    parser.add_argument("--series-uid", default=None, help="series to load when the folder has several")
    parser.set_defaults(handler=run_snapshot)


def run_snapshot(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from quant.dicom.load import load_series
    from viewer.scene.snapshot import parse_size, write_snapshot

    size = parse_size(args.size)
    with tqdm(desc="reading slices", unit="slice", file=sys.stderr, leave=False) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)  # honours tqdm's mininterval: no line per slice

        volume = load_series(args.series_dir, series_uid=args.series_uid, progress=progress)
    lungs = lesions = None
    if args.segment:
        from quant.segment.pipeline import segment

        print("segmenting lungs and lesions ...", file=sys.stderr)
        result = segment(volume)
        lungs, lesions = result.lungs, result.lesions
    print("rendering ...", file=sys.stderr)
    out = write_snapshot(args.out, volume, lungs, lesions, size)
    print(out)
    return 0
