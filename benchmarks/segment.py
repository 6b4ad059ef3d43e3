"""Speed and memory of the automatic segmentation on a full-size phantom (512 x 512 x ~300).

Runs lungs + lesions + metrics (:func:`quant.segment.pipeline.segment`) three times and prints the
median wall time, the CPU time and the peak RSS of the process (phantom generation included in the
RSS, so it is an upper bound). Goals: <= 3 s and <= 2.5 GB on a 2-core machine.

    .venv/bin/python benchmarks/segment.py [--size full|small] [--seed N] [--repeat 3] [--partial-solid]

The phantom's consolidation is airless lung (+30 HU, its default); ``--partial-solid`` draws it
partially aerated (-110 HU, textured) instead.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=("full", "small"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--lesion-pct", type=float, default=25.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--partial-solid", action="store_true", help="consolidation at -110 HU (partially aerated)")
    args = parser.parse_args()

    from quant.phantom import make_scan
    from quant.phantom.image import PARTIAL_SOLID_HU, PARTIAL_SOLID_TEXTURE_HU
    from quant.segment.pipeline import segment

    t0 = time.perf_counter()
    extra = (
        {"solid_hu": PARTIAL_SOLID_HU, "solid_texture_hu": PARTIAL_SOLID_TEXTURE_HU} if args.partial_solid else {}
    )
    scan = make_scan(args.size, args.seed, lesion_pct=args.lesion_pct, consolidation=0.5, **extra)
    print(f"phantom {args.size} {scan.volume.shape} generated in {time.perf_counter() - t0:.1f} s")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    walls, cpus = [], []
    for _ in range(args.repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        result = segment(scan.volume)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    m = result.metrics
    print(f"lesion {m.lesion_pct:.2f} % (truth {scan.truth['lesion_pct']:.2f}), "
          f"solid {m.solid_pct:.2f} % (truth {scan.truth['solid_pct']:.2f})")
    print(f"segment wall time: median {statistics.median(walls):.2f} s of {[round(w, 2) for w in walls]}")
    print(f"segment CPU time:  median {statistics.median(cpus):.2f} s")
    print(f"peak RSS: {peak:.0f} MB (after phantom generation: {rss_before:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
