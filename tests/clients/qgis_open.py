"""Run by Debian's Python with ``python3-qgis`` (not the project's venv): QGIS's own OGC
API - Features provider opens Linde's collections, headless.

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/clients/qgis_open.py BASE_URL SPEC

SPEC is JSON: ``[{"collection": ..., "subset": ... or null, "fetch": true|false}]``, with
``"user"`` and ``"password"`` for a protected collection: stored, as a person would in
QGIS's authentication manager, as a "Basic" configuration the layer names by
``authcfg`` (the auth database in ``QGIS_AUTH_DB_DIR_PATH``, a temporary folder). For
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
    QgsAuthMethodConfig,
    QgsFeatureRequest,
    QgsVectorLayer,
    QgsWkbTypes,
)


def main() -> None:
    base_url, spec = sys.argv[1], json.loads(sys.argv[2])
    app = QgsApplication([], False)
    app.initQgis()
    configs: dict[tuple[str, str], str] = {}
    for entry in spec:
        uri = f"url='{base_url}' typename='{entry['collection']}'"
        if entry.get("user"):
            key = (entry["user"], entry["password"])
            if key not in configs:
                configs[key] = basic_auth(*key)
            uri += f" authcfg='{configs[key]}'"
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
            if key:  # a field, or a list of fields joined by ":"
                names = key if isinstance(key, list) else [key]
                out["keys"] = sorted(":".join(str(f[n]) for n in names) for f in features)
            out["null_geometries"] = sum(1 for f in features if not f.hasGeometry())
        print(json.dumps(out), flush=True)
    # QGIS 3.22 may crash while tearing down its providers; everything is printed by now
    sys.stdout.flush()
    os._exit(0)


def basic_auth(user: str, password: str) -> str:
    """A "Basic" configuration in QGIS's authentication manager; its id."""
    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        manager.setMasterPassword("linde-test-master", True)
    config = QgsAuthMethodConfig()
    config.setName(f"Linde {user}")
    config.setMethod("Basic")
    config.setConfig("username", user)
    config.setConfig("password", password)
    stored = manager.storeAuthenticationConfig(config)
    assert stored and config.id(), "QGIS did not store the authentication configuration"
    return str(config.id())


if __name__ == "__main__":
    main()
