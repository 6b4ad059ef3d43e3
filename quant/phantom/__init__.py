"""A realistic synthetic chest CT with exact ground truth: the project's demo and test data.

* :func:`make_scan` → :class:`PhantomScan` (volume, lung/lesion labels, bone, airway, truth).
  Options add what real chests have (fat touching the pleura, abdominal gas, effusion,
  atelectasis, consolidation against the mediastinum, a sharp low-dose kernel, cut coverage);
  ``make_scan(size, seed, **REAL_CHEST)`` is "a realistic chest" (fat and gas).
* :func:`write_scan` / :func:`load_truth`: a DICOM series plus ``truth.json`` / ``truth.npz``.
* :func:`make_trial`: a whole two-arm trial (scans, ``manifest.csv``, separate
  ``randomization.csv``) with lesion trajectories calibrated on NCT04288102.
"""

from quant.phantom.io import load_truth, write_scan
from quant.phantom.scan import REAL_CHEST, PhantomError, PhantomScan, make_scan, truth_metrics
from quant.phantom.trial import DEFAULT_VISITS, VISIT_DAYS, TrialFiles, make_trial

__all__ = [
    "PhantomError",
    "PhantomScan",
    "make_scan",
    "REAL_CHEST",
    "truth_metrics",
    "write_scan",
    "load_truth",
    "make_trial",
    "TrialFiles",
    "DEFAULT_VISITS",
    "VISIT_DAYS",
]
