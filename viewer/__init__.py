"""LungRead viewer: VTK scenes and Qt widgets for reading and correcting CT segmentations.

Knows nothing of the database. Modules, Logic (pure VTK/numpy) before Widget (Qt):

* :mod:`viewer.display` - window/level presets and label colours (``resources/display.toml``);
* :mod:`viewer.image_data` - zero-copy numpy <-> vtkImageData, the viewer's world frame;
* :mod:`viewer.layers` - CT + live label maps of one case shared by all views;
* :mod:`viewer.orientation` - view axes and radiological orientation letters;
* :mod:`viewer.slice_composite` / :mod:`viewer.slice_image` / :mod:`viewer.slice_scene` /
  :mod:`viewer.annotations` - one slice view's scene (composed picture + neighbour cache,
  overlays, text); :mod:`viewer.slice_view` / :mod:`viewer.render_widget` - its Qt widget;
* :mod:`viewer.mpr` - three linked slice views (+ 3D);
* :mod:`viewer.surfaces` / :mod:`viewer.scene3d` / :mod:`viewer.view3d` - the 3D view;
* :mod:`viewer.tools` - editing interaction modes over :class:`quant.editing.MaskEditor`;
* :mod:`viewer.snapshot` - offscreen four-view PNG.
"""
