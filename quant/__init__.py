"""LungRead quantification: pure numpy/scipy, no Qt, VTK or SQLAlchemy.

* :mod:`quant.volume`, :mod:`quant.labels` - a CT volume with its geometry; lung and lesion label maps;
* :mod:`quant.dicom` - load CT series (:func:`quant.dicom.load.load_series`), write, de-identify, export masks;
* :mod:`quant.segment` - automatic lung and lesion segmentation (:func:`quant.segment.pipeline.segment`);
* :mod:`quant.editing` - headless mask editing (:class:`quant.editing.editor.MaskEditor`);
* :mod:`quant.metrics`, :mod:`quant.protocol` - endpoint metrics under the hashed quantification protocol;
* :mod:`quant.stats`, :mod:`quant.analysis` - statistics with R semantics; endpoint tables, CSV, report;
* :mod:`quant.phantom` - the synthetic chest CT and trial.
"""
