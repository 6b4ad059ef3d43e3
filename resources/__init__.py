"""LungRead resources package."""
