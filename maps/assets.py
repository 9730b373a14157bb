"""Leaflet and its plugins, shipped inside Linde: served at a route or inlined into a file.

Folium's templates point at CDNs, which government networks often block and which
an exported file cannot rely on. The files in ``maps/static/`` were taken once from
the npm registry (``npm pack``) and are committed with their licences:

=========================  =======  ===========================================
package                    version  licence
=========================  =======  ===========================================
leaflet                    1.9.4    BSD-2-Clause (``leaflet-1.9.4/LICENSE``)
leaflet.markercluster      1.5.3    MIT (``leaflet.markercluster-1.5.3/MIT-LICENCE.txt``)
leaflet.fullscreen         3.0.0    MIT (``leaflet.fullscreen-3.0.0/LICENSE``)
leaflet-measure            2.1.7    MIT (``leaflet-measure-2.1.7/LICENSE``)
leaflet.vectorgrid         1.3.0    Beerware; bundles pbf, vector-tile, topojson
                                    (BSD) and geojson-vt (ISC)
                                    (``leaflet.vectorgrid-1.3.0/LICENSE``)
@geoman-io/leaflet-geoman  2.20.2   MIT (``leaflet-geoman-free-2.20.2/LICENSE``)
=========================  =======  ===========================================

(the versions folium 0.20's plugins are written for; Leaflet 1.9.4 is the bug-fix
release of folium's 1.9.3.) Leaflet.VectorGrid is ``dist/Leaflet.VectorGrid.bundled.min.js``
of the npm tarball, byte for byte (sha256 ``ed1e89e4…93aa4d5``; the tarball has no
licence file, so ``LICENSE`` quotes its README's "Legalese"); it draws the pages' big
layers from Linde's vector tiles (``maps.vector_tiles``) and the inspectors' offline map.
leaflet-geoman-free (``dist/leaflet-geoman.min.js`` and ``.css``, their
``sourceMappingURL`` comments removed: the maps are not shipped) is the drawing tool of
the dispute page, loaded into its map frame with ``linde/propuesta.js``.
Nothing is fetched at run time.

Before a map is rendered, :func:`localize` rewrites every asset reference of every
element to a Linde asset; a reference Linde does not ship raises
:class:`AssetMissing` instead of silently leaving a CDN link in the page.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the server imports STATIC_DIR at start; folium's own code comes with a map
    from branca.element import Element

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: folium's asset names and the file Linde ships for each
_BY_NAME: dict[str, str] = {
    "leaflet": "leaflet-1.9.4/leaflet.js",
    "leaflet_css": "leaflet-1.9.4/leaflet.css",
    "markerclusterjs": "leaflet.markercluster-1.5.3/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster-1.5.3/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster-1.5.3/MarkerCluster.Default.css",
    "Control.Fullscreen.js": "leaflet.fullscreen-3.0.0/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen-3.0.0/Control.FullScreen.css",
    "leaflet_measure_js": "leaflet-measure-2.1.7/leaflet-measure.min.js",
    "leaflet_measure_css": "leaflet-measure-2.1.7/leaflet-measure.css",
    "leaflet_vectorgrid": "leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js",
}
#: folium.Map loads these for its Bootstrap popups and awesome-markers icons, which
#: Linde's maps do not use; dropping them saves ~300 kB per exported file
_UNUSED = {
    "jquery",
    "bootstrap",
    "awesome_markers",
    "bootstrap_css",
    "glyphicons_css",
    "awesome_markers_font_css",
    "awesome_markers_css",
    "awesome_rotate_css",
}
#: the marker that stands for "Linde's asset" in a rendered page until it is resolved
_SCHEME = "linde-asset:"


class AssetMissing(RuntimeError):
    """A map element wants a script or style sheet that Linde does not ship."""


def asset_path(relative: str) -> Path:
    """The file of a shipped asset; ``FileNotFoundError`` for anything outside ``static/``."""
    path = (STATIC_DIR / relative).resolve()
    if STATIC_DIR not in path.parents or not path.is_file():
        raise FileNotFoundError(relative)
    return path


def localize(root: Element) -> None:
    """Point every script and style sheet of ``root`` and its children at Linde's assets.

    Raises:
        AssetMissing: an element needs an asset that is not shipped (a plugin not yet
            vendored); the message names it.
    """
    stack = [root]
    while stack:
        element = stack.pop()
        for attr in ("default_js", "default_css"):
            wanted = getattr(element, attr, None)
            if not wanted:
                continue
            kept = []
            for name, url in wanted:
                if name in _UNUSED:
                    continue
                if url.startswith(_SCHEME):
                    kept.append((name, url))
                    continue
                if name not in _BY_NAME:
                    raise AssetMissing(
                        f"{type(element).__name__} wants {name} ({url}), which Linde does "
                        "not ship; vendor it into maps/static/"
                    )
                kept.append((name, _SCHEME + _BY_NAME[name]))
            setattr(element, attr, kept)  # on the instance: the class keeps folium's list
        stack.extend(getattr(element, "_children", {}).values())


_SCRIPT = re.compile(r'<script src="' + _SCHEME + r'([^"]+)"></script>')
_STYLE = re.compile(r'<link rel="stylesheet" href="' + _SCHEME + r'([^"]+)"/>')
_CSS_URL = re.compile(r"url\((?!['\"]?(?:data:|#))['\"]?([^)'\"]+)['\"]?\)")


@cache
def _inline_css(relative: str) -> str:
    """A style sheet with every image it refers to turned into a ``data:`` URI."""
    path = asset_path(relative)
    css = path.read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        image = (path.parent / match.group(1)).resolve()
        if not image.is_file():
            return match.group(0)
        kind = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
        return f"url(data:{kind};base64,{base64.b64encode(image.read_bytes()).decode()})"

    return _CSS_URL.sub(data_uri, css)


@cache
def _script(relative: str) -> str:
    # "</script" inside a script would end the element early
    return asset_path(relative).read_text(encoding="utf-8").replace("</script", "<\\/script")


def resolve(html: str, static_url: str | None) -> str:
    """Replace Linde's asset markers in a rendered page.

    Args:
        html: a page rendered after :func:`localize`.
        static_url: where Linde serves ``maps/static`` (e.g. ``/maps/static``); ``None``
            inlines every script and style sheet (images as ``data:`` URIs), so the file
            opens with no network at all.
    """
    if static_url is not None:
        base = static_url.rstrip("/") + "/"
        return html.replace(_SCHEME, base)
    html = _SCRIPT.sub(lambda m: f"<script>{_script(m.group(1))}</script>", html)
    html = _STYLE.sub(lambda m: f"<style>{_inline_css(m.group(1))}</style>", html)
    if _SCHEME in html:
        raise AssetMissing("an asset reference was left unresolved in the page")
    return html
