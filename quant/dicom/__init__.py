"""DICOM in and out: find and load CT series (:mod:`~quant.dicom.load`, :mod:`~quant.dicom.scan`), read
headers, geometry and pixels, write series, de-identify, and export masks as DICOM SEG / NIfTI."""
