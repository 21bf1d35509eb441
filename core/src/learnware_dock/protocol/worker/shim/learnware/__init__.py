"""A minimal stand-in for the `learnware` package, put on a worker's path only when the
real package is not installed in the learnware's environment (learnware-dock)."""
