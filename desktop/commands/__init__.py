"""Subcommands of the ``lungread`` command line, one module per command group."""
