"""Automatic segmentation: lungs (anatomy, not a threshold), airway, airless lung, lesions, QC.

Entry point: :func:`quant.segment.pipeline.segment`."""
