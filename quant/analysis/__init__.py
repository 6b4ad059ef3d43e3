"""Endpoint analysis from plain per-scan records: tables, reader agreement, CSV exports, the report."""
