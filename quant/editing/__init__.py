"""Mask editing, headless (the 3D Slicer *Logic* half): the editor, brush geometry, region tools,
fill between slices, the overwrite policy and undo/redo. The Qt half is :mod:`viewer.widgets.tools`."""
