"""The pure core: lifecycle states and rules, desired state, the planner. No I/O is imported here
(the import-linter contract in ``pyproject.toml`` holds it)."""
