"""A realistic synthetic chest CT with exact ground truth: the project's demo and test data.

* :func:`make_scan` → :class:`PhantomScan` (volume, lung/lesion labels, bone, airway, truth).
* :func:`write_scan` / :func:`load_truth`: a DICOM series plus ``truth.json`` / ``truth.npz``.
* :func:`make_trial`: a whole two-arm trial (scans, ``manifest.csv``, separate
  ``randomization.csv``) with lesion trajectories calibrated on NCT04288102.
"""

from quant.phantom.io import load_truth, write_scan
from quant.phantom.scan import PhantomError, PhantomScan, make_scan, truth_metrics
from quant.phantom.trial import DEFAULT_VISITS, VISIT_DAYS, TrialFiles, make_trial

__all__ = [
    "PhantomError",
    "PhantomScan",
    "make_scan",
    "truth_metrics",
    "write_scan",
    "load_truth",
    "make_trial",
    "TrialFiles",
    "DEFAULT_VISITS",
    "VISIT_DAYS",
]
