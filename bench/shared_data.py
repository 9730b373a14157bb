"""Where the state- and country-scale benchmarks find ``../shared/data``, or say it is missing.

The tests never read it: they use the extract shipped in ``data/``. Benchmarks that need
the whole state of Oaxaca or all of Mexico read the full source files from
``$LINDE_SHARED_DATA`` when set, else from ``shared/data`` beside the repository.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LINDE_SHARED_DATA") or ROOT.parent / "shared" / "data")
OAXACA_STATE = SHARED_DATA / "boundaries" / "oaxaca_municipios_inegi_mg.geojson"
MEXICO = SHARED_DATA / "boundaries" / "mx_municipios_inegi_mg.geojson.zip"


def require(*paths: Path) -> None:
    """Exit with a plain message (status 1) when any of ``paths`` is missing."""
    missing = [path for path in paths if not path.exists()]
    if missing:
        names = ", ".join(str(path) for path in missing)
        sys.exit(
            f"this benchmark needs the full source data, which is not in the repository: "
            f"missing {names}. Put ../shared/data beside the repository or set "
            "LINDE_SHARED_DATA=/path/to/shared/data (the tests and the demo need only data/)."
        )
