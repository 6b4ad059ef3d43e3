"""Pure VTK and numpy (no Qt): image bridges, layers, display settings, slice and 3D scenes,
surfaces, the offscreen snapshot. Testable without a window."""
