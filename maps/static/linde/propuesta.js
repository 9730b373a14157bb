/* Drawing a proposal on a zone's map (leaflet-geoman), inside the map's sandboxed frame.
 *
 * The page that frames the map loads this after the map: it finds the Leaflet map,
 * adds geoman's polygon and rectangle tools (in Spanish), and tells the page the
 * drawing as GeoJSON while it is drawn and each time it is edited, so the page can ask
 * Linde what each party would gain and lose. The page may send back parts to show
 * (a decision's preview) as GeoJSON geometries with a colour. Only geometry and colours
 * cross between the two: no text from the data is ever put into this frame's HTML.
 */
(function () {
  "use strict";
  var mapa = null;
  Object.keys(window).forEach(function (k) {
    if (/^map_/.test(k) && window[k] instanceof L.Map) { mapa = window[k]; }
  });
  if (!mapa || !L.PM) { return; }
  // the map was made before geoman loaded, so geoman's init hook did not run for it
  if (!mapa.pm) { mapa.pm = new L.PM.Map(mapa); }
  mapa.pm.setLang("es");
  mapa.pm.addControls({
    position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false,
    drawCircle: false, drawText: false, cutPolygon: false, rotateMode: false,
    drawPolygon: true, drawRectangle: true, editMode: true, dragMode: true, removalMode: true
  });
  mapa.pm.setGlobalOptions({ pathOptions: { color: "#6a3d9a", weight: 3, fillOpacity: 0.25 } });
  var dibujo = null, partes = L.layerGroup().addTo(mapa);

  function decir(geometria, terminado) {
    window.parent.postMessage({ linde: "propuesta", geometry: geometria, terminado: terminado }, "*");
  }
  function anillo(latlngs) {
    var ring = latlngs.map(function (p) { return [p.lng, p.lat]; });
    ring.push(ring[0]);
    return { type: "Polygon", coordinates: [ring] };
  }
  function avisarDibujo() { decir(dibujo ? dibujo.toGeoJSON().geometry : null, true); }

  mapa.on("pm:drawstart", function (e) {
    if (!e.workingLayer) { return; }
    // while the polygon is being drawn: every vertex from the third on
    e.workingLayer.on("pm:vertexadded", function () {
      var puntos = e.workingLayer.getLatLngs();
      if (puntos.length >= 3) { decir(anillo(puntos), false); }
    });
  });
  mapa.on("pm:create", function (e) {
    if (dibujo) { mapa.removeLayer(dibujo); }
    dibujo = e.layer;
    dibujo.on("pm:edit pm:dragend", avisarDibujo);
    avisarDibujo();
  });
  mapa.on("pm:remove", function (e) {
    if (e.layer === dibujo) { dibujo = null; avisarDibujo(); }
  });
  window.addEventListener("message", function (ev) {
    if (ev.source !== window.parent || !ev.data || ev.data.linde !== "partes") { return; }
    partes.clearLayers();
    (ev.data.partes || []).forEach(function (p) {
      L.geoJSON(p.geometry, { interactive: false,
        style: { color: String(p.color), weight: 3, dashArray: "4 4", fillColor: String(p.color), fillOpacity: 0.35 }
      }).addTo(partes);
    });
    if (ev.data.limpiar && dibujo) { mapa.removeLayer(dibujo); dibujo = null; }
  });
  window.parent.postMessage({ linde: "listo" }, "*");
})();
