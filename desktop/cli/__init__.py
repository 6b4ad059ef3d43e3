"""The ``lungread`` command line: :mod:`desktop.cli.main` and one module per command group."""
