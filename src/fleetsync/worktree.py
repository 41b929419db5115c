"""Secrets written next to source code: a key file inside a git work tree that git does not ignore
is one `git add .` away from a public repository.

fleetsync writes its secret files (the sandbox's service-account key and OAuth client, a tenant's
state, the demo's directory, the ledger's first-password key) with mode 0600; where one lands
inside a git work tree and git would not ignore it, the command that wrote it warns.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["exposure_warning", "unignored_work_tree"]


def _work_tree(path: Path) -> Path | None:
    for folder in path.resolve().parents:
        if (folder / ".git").exists():  # a directory, or a file in a worktree or submodule
            return folder
    return None


def unignored_work_tree(path: Path) -> Path | None:
    """The git work tree ``path`` lies in when git does not ignore it; else None."""
    root = _work_tree(path)
    if root is None:
        return None
    git = shutil.which("git")
    if git is None:
        return root  # cannot ask: better a warning too many
    try:
        checked = subprocess.run(  # noqa: S603 - a fixed command, the path as one argument
            [git, "-C", str(root), "check-ignore", "-q", "--", str(path.resolve())],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return root
    return None if checked.returncode == 0 else root


def exposure_warning(path: Path, what: str) -> str | None:
    """A sentence for stderr when ``path`` (holding ``what``) is in a git work tree unignored."""
    root = unignored_work_tree(path)
    if root is None:
        return None
    shown = path.resolve().relative_to(root)
    return (
        f"{what} {path} is inside the git work tree {root}, and git does not ignore it: add "
        f"'/{shown}' to {root / '.gitignore'} (or write it outside the work tree) before it is "
        "committed"
    )
