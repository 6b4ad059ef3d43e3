"""LungRead desktop package."""
