"""LungRead db package."""
