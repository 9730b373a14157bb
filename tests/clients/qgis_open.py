"""Run by Debian's Python with ``python3-qgis`` (not the project's venv): QGIS's own OGC
API - Features provider opens Linde's collections, headless.

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/clients/qgis_open.py BASE_URL SPEC

SPEC is JSON: ``[{"collection": ..., "subset": ... or null, "fetch": true|false}]``. For
each, prints one JSON line: whether the layer is valid, its geometry type, the
features it reads (with the subset string applied through ``setSubsetString``), and
their ids. The test counts the requests Linde received.
"""

from __future__ import annotations

import json
import os
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsFeatureRequest,
    QgsVectorLayer,
    QgsWkbTypes,
)


def main() -> None:
    base_url, spec = sys.argv[1], json.loads(sys.argv[2])
    app = QgsApplication([], False)
    app.initQgis()
    for entry in spec:
        uri = f"url='{base_url}' typename='{entry['collection']}'"
        layer = QgsVectorLayer(uri, entry["collection"], "OAPIF")
        out = {
            "collection": entry["collection"],
            "qgis_version": Qgis.QGIS_VERSION_INT,
            "valid": layer.isValid(),
            "geometry": QgsWkbTypes.displayString(layer.wkbType()) if layer.isValid() else None,
        }
        if layer.isValid() and entry.get("subset"):
            out["subset_accepted"] = layer.setSubsetString(entry["subset"])
        if layer.isValid() and entry.get("fetch"):
            key = entry.get("key")
            features = list(layer.getFeatures(QgsFeatureRequest()))
            out["count"] = len(features)
            if key:
                out["keys"] = sorted(str(f[key]) for f in features)
            out["null_geometries"] = sum(1 for f in features if not f.hasGeometry())
        print(json.dumps(out), flush=True)
    # QGIS 3.22 may crash while tearing down its providers; everything is printed by now
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
