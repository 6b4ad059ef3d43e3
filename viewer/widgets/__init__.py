"""Qt widgets over the scenes: slice views, the 3D view, linked MPR, editing tools."""
