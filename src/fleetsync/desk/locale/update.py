"""Refresh the desk's message catalogues from the code and templates (a maintainer's tool, not
part of the app): ``python src/fleetsync/desk/locale/update.py``. New messages appear in each
``.po`` file untranslated; the test suite fails until they are translated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent

if __name__ == "__main__":
    pot = HERE / "messages.pot"
    common = ["--no-location", "--sort-output"]
    subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [BIN / "pybabel", "extract", "-F", HERE / "babel.cfg", "-k", "_", "-k", "N_",
         "--omit-header", *common, "-o", pot, HERE.parent],
        check=True,
    )  # fmt: skip
    for po in HERE.glob("*/LC_MESSAGES/messages.po"):
        subprocess.run(  # noqa: S603
            [BIN / "pybabel", "update", "-i", pot, "-o", po, "-l", po.parent.parent.name,
             "--no-fuzzy-matching", "--ignore-obsolete"],
            check=True,
        )  # fmt: skip
