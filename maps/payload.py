"""Text on a map is data, never code: how an element hands its words to the page.

Every element of a Linde map that shows words (names of municipalities, rivers,
localities and zones, categories, notes, legend rows, layer names, tooltips,
popups, titles, attribution) writes them into the page as one JSON document inside
``<script type="application/json">``, which the browser never runs, and its script
reads them back with ``JSON.parse`` and puts them on screen as text (``textContent``;
for the few Leaflet APIs that take HTML, such as the layer control and the
attribution, the script escapes the text for HTML first). No text is ever spliced
into JavaScript source, a template literal or an HTML string, so a name such as
``${alert(1)}``, `` ` ``, ``</script>`` or ``<img onerror=…>`` is shown as written.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

#: characters that could end the ``<script>`` element or open a comment in it
_HTML_SENSITIVE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}
#: the opening of a Jinja expression, statement or comment (``{{``, ``{%``, ``{#``):
#: branca renders each element's output once more as a template, so a name holding
#: ``{{ … }}`` would be evaluated on the server. In JSON such a pair can only occur
#: inside a string (an object's ``{`` is followed by ``"`` or ``}``), where ``\\u007b``
#: reads back as ``{``.
_TEMPLATE_OPENING = re.compile(r"\{(?=[{%#])")

#: the one function the elements' scripts use to escape text for Leaflet's HTML APIs
JS_ESCAPE_HTML = (
    "function lindeEscapeHtml(text) { return String(text).replace(/[&<>\"']/g, function (c) {"
    ' return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\\"": "&quot;", "\'": "&#39;" }[c]; }); }'
)


def json_for_script(value: Any) -> str:
    """``value`` as JSON safe to place inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as ``\\u003c`` … so no text can close the
    element (``</script>``) or open an HTML comment in it, and the ``{`` of ``{{``,
    ``{%`` and ``{#`` as ``\\u007b``, so no text is a template to branca; ``JSON.parse``
    reads them back unchanged. NumPy numbers are written as numbers, NaN as ``null``.
    """
    text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode(
        "utf-8"
    )
    return _TEMPLATE_OPENING.sub(r"\\u007b", text.translate(_HTML_SENSITIVE))


def data_element(element_id: str, value: Any) -> str:
    """The ``<script type="application/json" id=…>`` holding ``value`` for an element.

    ``element_id`` is a name Linde generates (an element's ``get_name()``), never text
    from the data.
    """
    return (
        f'<script type="application/json" id="{element_id}-data">{json_for_script(value)}</script>'
    )


def js_read(element_id: str) -> str:
    """The JavaScript expression that reads an element's data back."""
    return f'JSON.parse(document.getElementById("{element_id}-data").textContent)'
