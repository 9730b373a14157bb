// Linde · inspecciones: the app's map without signal (the "Mapa sin señal" panel).
// Linde's own layers (municipal limits, rivers with their federal zone, disputed zones,
// localities) come as vector tiles drawn by Leaflet.VectorGrid. "Descargar mapa de mi
// zona" keeps every tile of an area in Cache Storage; the service worker answers the
// tiles from there, so the map is drawn with no signal. OpenStreetMap is an option.
(function () {
  "use strict";
  var mapa = window.LindeInspecciones.mapa;
  var $ = function (id) { return document.getElementById(id); };
  var CLAVE = "linde-mapa";            // localStorage: what the kept pack is
  var PREFIJO = "linde-mapa-";         // Cache Storage: one cache per pack
  var TESELAS = "/inspecciones/mapa/teselas/{z}/{x}/{y}";
  var MVT = "application/vnd.mapbox-vector-tile";
  var A_LA_VEZ = 4;                    // tiles asked at the same time
  var cancelar = false, plan = null, descargando = false, eligio = false;

  function mb(bytes) {
    var m = bytes / 1048576;
    return (m < 10 ? m.toFixed(1) : String(Math.round(m))) + " MB";
  }
  function numero(n) { return Number(n).toLocaleString("es-MX"); }
  function paquete() {
    try { return JSON.parse(localStorage.getItem(CLAVE) || "null"); } catch (e) { return null; }
  }
  function nota(texto, error) {
    $("mapa-estado").textContent = texto; $("mapa-estado").classList.toggle("error", !!error);
  }

  // --- the layers: Linde's own on top; OpenStreetMap only when asked for, and only with signal
  function metrosPorPixel(z) {
    return 156543.03392 * Math.cos(mapa.getCenter().lat * Math.PI / 180) / Math.pow(2, z);
  }
  var estilos = {
    localities: { className: "capa-localidades", fill: true, fillColor: "#c9a227", fillOpacity: 0.15,
      fillRule: "nonzero", color: "#8d6e00", weight: 0.8 },
    municipalities: { className: "capa-municipios", fill: false, color: "#37474f", weight: 2, dashArray: "6 4" },
    disputed_zones: { className: "capa-disputas", fill: true, fillColor: "#d32f2f", fillOpacity: 0.3,
      color: "#b71c1c", weight: 1.5 },
    rivers: function (p, z) {
      // the federal zone: a band of federal_zone_width_m on each side of the line
      var ancho = 2 * (Number(p.federal_zone_width_m) || 0) / metrosPorPixel(z);
      return [{ className: "capa-zona-federal", color: "#4fc3f7", opacity: 0.45, weight: Math.max(3, ancho),
        lineCap: "butt", fill: false },
      { className: "capa-rios", color: "#0d47a1", weight: 2.5, fill: false }];
    }
  };
  var propia = L.vectorGrid.protobuf(TESELAS, {
    vectorTileLayerStyles: estilos, rendererFactory: L.svg.tile, maxNativeZoom: 16, zIndex: 5,
    fetchOptions: { credentials: "same-origin" },
    attribution: "INEGI · Natural Earth"
  }).addTo(mapa);
  var osm = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19, zIndex: 1, attribution: "© OpenStreetMap"
  });
  if (navigator.onLine && !paquete()) { osm.addTo(mapa); }  // without signal it stays off
  L.control.layers(null, {
    "Límites, ríos y zonas (Linde)": propia,
    "OpenStreetMap (necesita señal)": osm
  }, { collapsed: true }).addTo(mapa);
  mapa.attributionControl.setPrefix(false);

  // the map opens over the kept pack's area: without signal it is all there is to see, and
  // the app's first view (the centre of Oaxaca) lies outside most municipalities' packs
  function verPaquete() {
    var p = paquete();
    if (p && p.bbox && p.bbox.length === 4) {
      mapa.fitBounds([[p.bbox[1], p.bbox[0]], [p.bbox[3], p.bbox[2]]]);
    }
  }
  verPaquete();

  // --- the panel: what is kept, and what can be downloaded
  function pintar() {
    var p = paquete();
    $("mapa-resumen").textContent = p ? p.area.name + " · " + mb(p.bytes) + " · " + numero(p.teselas) +
      " teselas · niveles " + p.zoom_min + "–" + p.zoom_max + " · guardado el " +
      new Date(p.fecha).toLocaleString("es-MX") : "ninguno guardado en este teléfono";
    $("mapa-actualizar").classList.toggle("hidden", !p);
    $("mapa-borrar").classList.toggle("hidden", !p);
  }
  function cargarAreas() {
    var guardadas = JSON.parse(localStorage.getItem("linde-mapa-areas") || "null");
    if (guardadas) { pintarAreas(guardadas); }
    fetch("/inspecciones/mapa/areas", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (datos) {
      if (!datos) { return; }
      localStorage.setItem("linde-mapa-areas", JSON.stringify(datos));
      pintarAreas(datos);
    }).catch(function () { /* no signal: the saved list stays */ });
  }
  function opcion(padre, valor, texto) {
    var o = document.createElement("option"); o.value = valor; o.textContent = texto; padre.appendChild(o);
  }
  function pintarAreas(datos) {
    var select = $("mapa-area"), actual = select.value;
    select.textContent = "";
    if (datos.mine) { opcion(select, "municipio=" + datos.mine.key, "Mi municipio: " + datos.mine.name); }
    opcion(select, "vista", "Lo que se ve ahora en el mapa");
    [["metro_zones", "Zonas metropolitanas", "zona="], ["municipalities", "Municipios", "municipio="]].forEach(function (g) {
      if (!datos[g[0]] || !datos[g[0]].length) { return; }
      var grupo = document.createElement("optgroup"); grupo.label = g[1];
      datos[g[0]].forEach(function (a) { opcion(grupo, g[2] + encodeURIComponent(a.key), a.name); });
      select.appendChild(grupo);
    });
    // the person's own choice stays; otherwise their municipality comes first
    if (eligio) { select.value = actual; }
    if (!eligio || !select.value) { select.selectedIndex = 0; }
  }
  $("mapa-area").addEventListener("change", function () { eligio = true; });
  function parametro(valor) {
    if (valor !== "vista") { return valor; }
    var b = mapa.getBounds();
    return "bbox=" + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (n) {
      return n.toFixed(5);
    }).join(",");
  }
  function libre() {
    if (!navigator.storage || !navigator.storage.estimate) { return Promise.resolve(null); }
    return navigator.storage.estimate().then(function (e) { return (e.quota || 0) - (e.usage || 0); });
  }

  var RAZONES_MAPA = [[/more than \d+ tiles/, "es demasiado grande para el teléfono: elija un municipio o acerque el mapa"],
    [/no loaded|no municipality|no metro zone/, "no está cargada en Linde"],
    [/acts for no municipality/, "elija un área: su cuenta no tiene municipio"]];
  function enEspanol(cuerpo) {
    var texto = JSON.stringify(cuerpo || {});
    var r = RAZONES_MAPA.filter(function (x) { return x[0].test(texto); })[0];
    return "No se pudo preparar el mapa: el área " + (r ? r[1] : "no es válida") + ".";
  }

  $("mapa-descargar").addEventListener("click", function () {
    if (descargando) { return; }
    if (!navigator.onLine) { nota("Sin señal: el mapa se descarga cuando haya conexión.", true); return; }
    var valor = parametro($("mapa-area").value || "vista");
    nota("Calculando el tamaño…");
    $("mapa-confirmar").classList.add("hidden");
    fetch("/inspecciones/mapa/plan?" + valor, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401 || r.status === 403) { throw new Error("Vuelva a entrar para descargar el mapa."); }
      return r.json().then(function (cuerpo) {
        if (!r.ok) { throw new Error(enEspanol(cuerpo)); }
        return cuerpo;
      });
    }).then(function (cuerpo) {
      return libre().then(function (espacio) {
        plan = cuerpo; plan.parametro = valor;
        var justo = espacio !== null && espacio < cuerpo.estimated_bytes * 2 + 20 * 1048576;
        $("mapa-plan").textContent = cuerpo.area.name + ": " + numero(cuerpo.tile_count) + " teselas, niveles " +
          cuerpo.zoom_min + "–" + cuerpo.zoom_max + ", unos " + mb(cuerpo.estimated_bytes) + "." +
          (espacio !== null ? " Libre en el teléfono: " + mb(espacio) + "." : "") +
          (justo ? " No hay espacio suficiente: libere espacio o elija un área más chica." : "");
        $("mapa-plan").classList.toggle("error", justo);
        $("mapa-confirmar").classList.remove("hidden");
        $("mapa-si").disabled = justo;
        nota("");
      });
    }).catch(function (e) {
      nota(e && e.message && e.message.indexOf("Failed to fetch") < 0 ? e.message :
        "Sin señal: el mapa se descarga cuando haya conexión.", true);
    });
  });
  $("mapa-no").addEventListener("click", function () {
    if (descargando) { cancelar = true; return; }
    plan = null; $("mapa-confirmar").classList.add("hidden"); nota("");
  });
  $("mapa-si").addEventListener("click", function () { if (plan && !descargando) { descargar(plan); } });
  $("mapa-actualizar").addEventListener("click", function () {
    var p = paquete();
    if (!p) { return; }
    var select = $("mapa-area");
    if (p.parametro.indexOf("bbox=") !== 0) { select.value = p.parametro; }
    $("mapa-descargar").click();
  });
  $("mapa-borrar").addEventListener("click", function () {
    var p = paquete();
    if (!p || !confirm("¿Borrar el mapa sin señal de " + p.area.name + "? Sin señal el mapa quedará en blanco.")) { return; }
    caches.delete(p.cache).then(function () {
      localStorage.removeItem(CLAVE); pintar(); propia.redraw();
      nota("Mapa borrado del teléfono.");
    });
  });

  function descargar(elegido) {
    // into a new cache: the kept pack serves until the new one is complete
    var nombre = PREFIJO + Date.now(), pendientes = elegido.tiles.slice(), hechas = 0, bytes = 0;
    descargando = true; cancelar = false;
    $("mapa-si").disabled = true; $("mapa-no").textContent = "Detener";
    nota("Descargando…");
    return caches.open(nombre).then(function (cache) {
      function siguiente() {
        if (cancelar) { return Promise.reject(new Error("cancelada")); }
        var t = pendientes.shift();
        if (!t) { return Promise.resolve(); }
        var ruta = TESELAS.replace("{z}", t[0]).replace("{x}", t[1]).replace("{y}", t[2]);
        // "?descarga": past the service worker's kept tiles, to the server
        return fetch(ruta + "?descarga=1", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
          if (!r.ok) { throw new Error(r.status === 401 || r.status === 403 ? "sesion" : "servidor"); }
          return r.arrayBuffer();
        }).then(function (cuerpo) {
          bytes += cuerpo.byteLength;
          return cache.put(ruta, new Response(cuerpo, { headers: { "Content-Type": MVT } }));
        }).then(function () {
          hechas += 1;
          if (hechas % 20 === 0 || hechas === elegido.tiles.length) {
            nota("Descargando: " + numero(hechas) + " de " + numero(elegido.tiles.length) + " teselas (" + mb(bytes) + ").");
          }
          return siguiente();
        });
      }
      var trabajos = [];
      for (var k = 0; k < A_LA_VEZ; k++) { trabajos.push(siguiente()); }
      return Promise.all(trabajos);
    }).then(function () {
      var anterior = paquete();
      localStorage.setItem(CLAVE, JSON.stringify({
        cache: nombre, area: elegido.area, parametro: elegido.parametro, zoom_min: elegido.zoom_min,
        zoom_max: elegido.zoom_max, bbox: elegido.bbox, teselas: elegido.tiles.length, bytes: bytes,
        fecha: new Date().toISOString()
      }));
      return caches.keys().then(function (nombres) {
        return Promise.all(nombres.filter(function (n) { return n.indexOf(PREFIJO) === 0 && n !== nombre; })
          .map(function (n) { return caches.delete(n); }));
      }).then(function () {
        nota((anterior ? "Mapa actualizado: " : "Mapa guardado: ") + elegido.area.name + ", " + mb(bytes) +
          ". Se verá sin señal.");
        $("mapa-confirmar").classList.add("hidden");
        verPaquete();
        propia.redraw();
      });
    }).catch(function (e) {
      caches.delete(nombre);
      var texto = e && e.name === "QuotaExceededError" ? "El teléfono se quedó sin espacio: libere espacio o elija un área más chica." :
        e && e.message === "cancelada" ? "Descarga detenida." :
        e && e.message === "sesion" ? "Su sesión terminó: vuelva a entrar y descargue de nuevo." :
        "Se interrumpió la descarga (¿sin señal?). Inténtelo de nuevo.";
      nota(texto + (paquete() ? " El mapa que ya tenía sigue guardado." : ""), e && e.message !== "cancelada");
    }).finally(function () {
      descargando = false; $("mapa-si").disabled = false; $("mapa-no").textContent = "Cancelar";
      pintar();
    });
  }

  pintar();
  cargarAreas();
})();
