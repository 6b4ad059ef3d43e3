"""The reading workspace and what it needs: loading a case, its views, tools, read form, autosave,
e-signature, automatic segmentation in a helper process, ad-hoc DICOM review."""
