"""Run in a child process by the client tests: GDAL 3.12 from the pyogrio wheel reads a
layer of Linde's OGC API. (In the test's own process GDAL would wait for a server
thread that cannot run while GDAL holds the interpreter.)

    python tests/clients/gdal_read.py URL LAYER [WHERE] [CRS]

Prints one JSON object: the layer's geometry type, the features' ``key`` values when
asked, and each geometry as WKB in hex, x (easting) first as GDAL gives it.
"""

from __future__ import annotations

import json
import sys

import pyogrio


def main() -> None:
    url, layer, where, crs = [*sys.argv[1:], "", ""][:4]
    options = {"CRS": crs} if crs else {}
    info = pyogrio.read_info(f"OAPIF:{url}", layer=layer, **options)
    frame = pyogrio.read_dataframe(f"OAPIF:{url}", layer=layer, where=where or None, **options)
    print(
        json.dumps(
            {
                "geometry_type": info["geometry_type"],
                "columns": list(frame.columns),
                "rows": json.loads(frame.drop(columns="geometry").to_json(orient="records")),
                "wkb": [g.wkb_hex for g in frame.geometry],
            }
        )
    )


if __name__ == "__main__":
    main()
