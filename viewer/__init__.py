"""LungRead viewer package."""
