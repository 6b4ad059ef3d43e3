"""Access-checked exports: every read revision (``reads.csv``), the endpoint analysis, stored masks."""
