"""fleetsync: a Chromebook loan programme, end to end on Google Workspace."""

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # Looked up when asked for: importlib.metadata costs every command 60 ms at start-up.
    if name != "__version__":
        raise AttributeError(f"module 'fleetsync' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fleetsync")
    except PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "0.0.0"
