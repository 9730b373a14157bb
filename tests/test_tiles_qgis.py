"""QGIS opens Linde's vector tiles and style.json (headless, the Debian python3-qgis in
a subprocess of the system Python, installed by ``scripts/setup.sh --test``)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import Database

QGIS_PYTHON = "/usr/bin/python3"

#: opens the XYZ layer, converts the MapLibre style, draws the metro zone to a PNG and
#: prints what it saw as one JSON line
SCRIPT = r"""
import json, sys, urllib.request
from qgis.core import (QgsApplication, QgsVectorTileLayer, QgsMapBoxGlStyleConverter,
    QgsMapSettings, QgsMapRendererSequentialJob, QgsRectangle, QgsCoordinateReferenceSystem)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
base, out = sys.argv[1], sys.argv[2]
app = QgsApplication([], False)
app.initQgis()
tilejson = json.load(urllib.request.urlopen(base + "/tilejson.json"))
template = tilejson["tiles"][0]
layer = QgsVectorTileLayer("type=xyz&zmin=0&zmax=14&url=" + template.replace("&", "%26"), "m")
style = json.load(urllib.request.urlopen(base + "/style.json"))
converter = QgsMapBoxGlStyleConverter()
converter.convert(style)
styles = [s.styleName() for s in converter.renderer().styles()] if converter.renderer() else []
layer.setRenderer(converter.renderer())
settings = QgsMapSettings()
settings.setLayers([layer])
settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
settings.setExtent(QgsRectangle(-10782000, 1920000, -10760000, 1930000))
settings.setOutputSize(QSize(400, 200))
settings.setBackgroundColor(QColor(255, 255, 255))
job = QgsMapRendererSequentialJob(settings)
job.start()
job.waitForFinished()
image = job.renderedImage()
image.save(out)
# dark pixels: the municipal limits drawn from the tiles (the style's background
# layer alone is light)
drawn = sum(1 for x in range(400) for y in range(200) if image.pixelColor(x, y).lightness() < 128)
print(json.dumps({"valid": layer.isValid(), "styles": styles, "drawn": drawn,
                  "errors": [str(e) for e in job.errors()]}))
app.exitQgis()
"""


pytestmark = pytest.mark.subprocess  # QGIS runs in a process of its own


def test_qgis_opens_the_tiles_and_their_style(oaxaca: Database, tmp_path: object) -> None:
    base = f"{oaxaca.base_url}/collections/municipalities/tiles/WebMercatorQuad"
    png = os.path.join(str(tmp_path), "qgis.png")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""}
    done = subprocess.run(
        [QGIS_PYTHON, "-c", SCRIPT, base, png],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["valid"], seen
    assert "Límite municipal oficial" in seen["styles"], seen
    assert seen["drawn"] > 500, seen  # limits crossing a 400 x 200 image
