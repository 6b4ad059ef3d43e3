"""The built-in demo trial: first-run creation and ``lungread demo --headless`` with simulated readers."""
