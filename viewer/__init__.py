"""LungRead viewer: VTK scenes and Qt widgets for reading and correcting CT segmentations.

Knows nothing of the database. Modules, Logic (pure VTK/numpy) before Widget (Qt):

* :mod:`viewer.scene.display` - window/level presets and label colours (``resources/display.toml``);
* :mod:`viewer.scene.image_data` - zero-copy numpy <-> vtkImageData, the viewer's world frame;
* :mod:`viewer.scene.layers` - CT + live label maps of one case shared by all views;
* :mod:`viewer.scene.orientation` - view axes and radiological orientation letters;
* :mod:`viewer.scene.slice_composite` / :mod:`viewer.scene.slice_image` / :mod:`viewer.scene.slice_scene` /
  :mod:`viewer.scene.annotations` - one slice view's scene (composed picture + neighbour cache,
  overlays, text); :mod:`viewer.widgets.slice_view` / :mod:`viewer.widgets.render_widget` - its Qt widget;
* :mod:`viewer.widgets.mpr` - three linked slice views (+ 3D);
* :mod:`viewer.scene.surfaces` / :mod:`viewer.scene.scene3d` / :mod:`viewer.widgets.view3d` - the 3D view;
* :mod:`viewer.widgets.tools` - editing interaction modes over :class:`quant.editing.editor.MaskEditor`;
* :mod:`viewer.scene.snapshot` - offscreen four-view PNG.
"""
