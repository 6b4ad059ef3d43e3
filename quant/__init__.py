"""LungRead quant package."""
