"""Offline reading packages: export, de-identified images, manifest, open and unlock on the reader's
computer, verification and merge of a returned package."""
