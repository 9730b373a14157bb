// Linde · inspecciones: the inspectors' phone app (the page /inspecciones/nueva).
// Each capture keeps its own moment, accuracy and UUID; it is saved on the phone
// (IndexedDB, photos as Blobs) before it is sent, and sent with that UUID so that a
// retry never duplicates. Everything a person reads here is in Spanish.
(function () {
  "use strict";
  var CATEGORIAS_RESPALDO = [["water_contamination", "Contaminación del agua"], ["solid_waste", "Residuos sólidos"],
    ["debris_fill", "Relleno con escombro"], ["informal_parking", "Estacionamiento informal"],
    ["discharge", "Descarga"], ["other", "Otro"]];
  var UMBRAL_M = Number(document.body.dataset.umbral || 30);  // accuracy worse than this is flagged
  var REPETIDA_S = 120, REPETIDA_M = 15;  // a "same point" within this time and distance asks first
  var $ = function (id) { return document.getElementById(id); };
  // the session cookie (HttpOnly) goes by itself; writes echo the session's CSRF token,
  // refreshed before each round of sends (a page opened from the cache has an old one)
  var CSRF = document.querySelector("meta[name=csrf-token]").content;
  var punto = null, marcador = null, enviando = false, captura = null, editando = null;
  var etiquetas = {};
  localStorage.removeItem("linde-token-inspector");  // an earlier version kept a token: never again
  function aviso(texto, error) { $("estado").textContent = texto; $("estado").classList.toggle("error", !!error); }
  function etiqueta(codigo) { return etiquetas[codigo] || codigo; }

  // --- time: the phone's own clock and UTC offset, to the second
  function dos(n) { return (n < 10 ? "0" : "") + n; }
  function local(d) {
    return d.getFullYear() + "-" + dos(d.getMonth() + 1) + "-" + dos(d.getDate()) + "T" + dos(d.getHours()) + ":" +
      dos(d.getMinutes()) + ":" + dos(d.getSeconds());
  }
  function desfase(d) {
    var m = -d.getTimezoneOffset(), a = Math.abs(m);
    return (m >= 0 ? "+" : "-") + dos(Math.floor(a / 60)) + ":" + dos(a % 60);
  }
  function sinSegundosCero(texto) { return texto.replace(/(T\d\d:\d\d):00(\.0+)?$/, "$1"); }
  function conZona(d) { return local(d) + desfase(d); }  // e.g. 2026-12-06T18:15:07-06:00
  // a stored moment told in the time of the phone that captured it (the server keeps its
  // UTC offset); a point stored without one is told in this phone's time, and says so
  function horaDeCaptura(instante, minutos) {
    var t = Date.parse(instante);
    if (isNaN(t)) { return ""; }
    if (typeof minutos !== "number") { return new Date(t).toLocaleString("es-MX") + " (hora de este teléfono)"; }
    var d = new Date(t + minutos * 60000), a = Math.abs(minutos);
    return dos(d.getUTCDate()) + "/" + dos(d.getUTCMonth() + 1) + "/" + d.getUTCFullYear() + " " +
      dos(d.getUTCHours()) + ":" + dos(d.getUTCMinutes()) + ":" + dos(d.getUTCSeconds()) + " (UTC" +
      (minutos >= 0 ? "+" : "-") + dos(Math.floor(a / 60)) + ":" + dos(a % 60) + ")";
  }

  // --- the map: tap to place, or the device's location
  // its layers (Linde's own, from the offline pack, and OpenStreetMap as an option) are
  // added by mapa.js
  var mapa = L.map("mapa", { zoomControl: true, maxZoom: 19 }).setView([17.065, -96.725], 13);
  window.LindeInspecciones = { mapa: mapa };
  function capturar(lat, lon, precision) {
    // a new capture: its own UUID, its own moment, and an accuracy only from a GPS fix
    captura = { id: uuid(), momento: new Date(), precision: precision === undefined ? null : precision };
    punto = { lat: lat, lon: lon };
    if (marcador) { marcador.setLatLng([lat, lon]); } else { marcador = L.marker([lat, lon]).addTo(mapa); }
    $("punto").textContent = "Punto: " + lat.toFixed(6) + ", " + lon.toFixed(6);
    $("momento").value = local(captura.momento);
    $("zona-horaria").textContent = "Hora del teléfono, UTC" + desfase(captura.momento) + ". Puede corregirla.";
    $("precision").value = captura.precision === null ? "" : captura.precision.toFixed(1);
    var lejos = captura.precision !== null && captura.precision > UMBRAL_M;
    $("aviso-precision").textContent = lejos ? "Precisión baja: " + Math.round(captura.precision) +
      " m (más de " + UMBRAL_M + " m). Espere a tener mejor señal de GPS o marque el punto en el mapa." : "";
    $("aviso-precision").classList.toggle("hidden", !lejos);
  }
  mapa.on("click", function (e) { capturar(e.latlng.lat, e.latlng.lng); });
  $("ubicacion").addEventListener("click", function () {
    if (!navigator.geolocation) { aviso("Este teléfono no da su ubicación; toque el mapa.", true); return; }
    aviso("Buscando su ubicación…");
    navigator.geolocation.getCurrentPosition(function (p) {
      capturar(p.coords.latitude, p.coords.longitude, p.coords.accuracy);
      mapa.setView([p.coords.latitude, p.coords.longitude], 17);
      aviso("Ubicación con precisión de " + Math.round(p.coords.accuracy) + " m.");
    }, function () { aviso("No se obtuvo la ubicación; toque el mapa para marcar el punto.", true); },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  });

  // --- categories: from the API, kept on the device for when there is no signal
  function pintarCategorias(lista) {
    var select = $("categoria"), actual = select.value;
    select.textContent = "";
    lista.forEach(function (c) {
      etiquetas[c[0]] = c[1];
      var o = document.createElement("option"); o.value = c[0]; o.textContent = c[1]; select.appendChild(o);
    });
    if (actual) { select.value = actual; }
  }
  function cargarCategorias() {
    var guardadas = JSON.parse(localStorage.getItem("linde-categorias") || "null");
    pintarCategorias(guardadas || CATEGORIAS_RESPALDO);
    fetch("/inspections/categories", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (datos) {
      if (!datos) { return; }
      var lista = datos.map(function (c) { return [c.code, c.label]; });
      localStorage.setItem("linde-categorias", JSON.stringify(lista));
      pintarCategorias(lista);
      pintarCola(); pintarMisPuntos();
    }).catch(function () { /* no signal: the saved list stays */ });
  }

  // --- the phone's store (IndexedDB): the queue, and the points already sent
  var base = new Promise(function (listo, fallo) {
    var pedido = indexedDB.open("linde", 2);
    pedido.onupgradeneeded = function () {  // version 1 had the queue only: it is kept as it is
      var db = pedido.result;
      if (!db.objectStoreNames.contains("pendientes")) { db.createObjectStore("pendientes", { keyPath: "id" }); }
      if (!db.objectStoreNames.contains("enviadas")) { db.createObjectStore("enviadas", { keyPath: "id" }); }
    };
    pedido.onsuccess = function () {
      var db = pedido.result;
      db.onversionchange = function () { db.close(); $("actualizar").classList.remove("hidden"); };
      listo(db);
    };
    pedido.onerror = function () { fallo(pedido.error); };
  });
  function almacen(nombre, modo, hacer) {
    return base.then(function (db) {
      return new Promise(function (listo, fallo) {
        var tx = db.transaction(nombre, modo);
        var resultado = hacer(tx.objectStore(nombre));
        tx.oncomplete = function () { listo(resultado && resultado.result); };
        tx.onerror = function () { fallo(tx.error); };
        tx.onabort = function () { fallo(tx.error); };
      });
    });
  }
  function todos() { return almacen("pendientes", "readonly", function (s) { return s.getAll(); }); }
  function guardar(item) { return almacen("pendientes", "readwrite", function (s) { return s.put(item); }); }
  function quitar(id) { return almacen("pendientes", "readwrite", function (s) { return s.delete(id); }); }
  function enviadas() { return almacen("enviadas", "readonly", function (s) { return s.getAll(); }); }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // --- the server's refusals, in Spanish
  var CAMPOS = { observed_at: "la hora de observación", category: "la categoría", severity: "la gravedad",
    description: "la descripción", gps_accuracy_m: "la precisión", geometry: "el punto", id: "el identificador",
    photos: "una foto", inspector: "el inspector" };
  var RAZONES = [[/future/i, "está en el futuro: corrija la hora"], [/time zone/i, "no lleva zona horaria"],
    [/outside mexico|out of mexico/i, "queda fuera de México"], [/categor/i, "no es una categoría conocida"],
    [/too (large|big)|exceeds|the limit is/i, "es demasiado grande"], [/empty/i, "está vacía"],
    [/image|jpeg|png/i, "no es una imagen JPEG, PNG, WebP o HEIC legible"], [/missing|required/i, "falta"]];
  function enEspanol(status, cuerpo) {
    var e = (cuerpo && cuerpo.error) || {};
    var partes = (e.details || []).map(function (d) {
      var campo = String(d.field || "").replace(/\[\d+\]/g, "").split(/[./]/).filter(Boolean).pop() || "";
      var razon = RAZONES.filter(function (r) { return r[0].test(String(d.reason || "")); })[0];
      return (CAMPOS[campo] || "un dato") + " " + (razon ? razon[1] : "no es válido");
    });
    if (!partes.length) {
      var razon = RAZONES.filter(function (r) { return r[0].test(String(e.message || "")); })[0];
      if (razon) { partes.push("un dato " + razon[1]); }
    }
    var base = status === 413 ? "Las fotos pesan demasiado" : "El servidor rechazó la inspección";
    return base + (partes.length ? ": " + partes.join("; ") : "") + ".";
  }

  // --- the queue, drawn: each item with its state
  var ESTADOS = { pendiente: "por enviar", rechazada: "rechazada", sesion: "espera una sesión de inspector" };
  function pintarCola() {
    return todos().then(function (items) {
      $("pendientes").textContent = String(items.length);
      var lista = $("cola");
      lista.textContent = "";
      items.sort(function (a, b) { return a.creada - b.creada; }).forEach(function (i) {
        var li = document.createElement("li"), marca = document.createElement("span");
        li.className = i.estado;
        marca.className = "etiqueta"; marca.textContent = ESTADOS[i.estado] || i.estado;
        li.appendChild(marca);
        li.appendChild(document.createTextNode(" " + new Date(i.creada).toLocaleString("es-MX") + " · " +
          etiqueta(i.feature.properties.category) + (i.fotos.length ? " · " + i.fotos.length + " foto(s)" : "")));
        if (i.mensaje) {
          var m = document.createElement("div"); m.className = "mensaje"; m.textContent = i.mensaje; li.appendChild(m);
        }
        if (i.estado !== "pendiente") {
          var corregir = document.createElement("button"); corregir.type = "button"; corregir.textContent = "Corregir";
          corregir.addEventListener("click", function () { corregirItem(i); });
          var descartar = document.createElement("button"); descartar.type = "button"; descartar.textContent = "Descartar";
          descartar.addEventListener("click", function () {
            if (confirm("¿Descartar esta inspección? No se enviará.")) { quitar(i.id).then(pintarCola); }
          });
          li.appendChild(corregir); li.appendChild(descartar);
        }
        lista.appendChild(li);
      });
      return items;
    });
  }
  function corregirItem(item) {
    // back into the form, with its own UUID: the server stored nothing of a refused one
    var p = item.feature.properties, c = item.feature.geometry.coordinates;
    editando = item;
    captura = { id: item.id, momento: new Date(p.observed_at), precision: p.gps_accuracy_m };
    punto = { lat: c[1], lon: c[0] };
    if (marcador) { marcador.setLatLng([c[1], c[0]]); } else { marcador = L.marker([c[1], c[0]]).addTo(mapa); }
    mapa.setView([c[1], c[0]], 16);
    $("punto").textContent = "Punto: " + c[1].toFixed(6) + ", " + c[0].toFixed(6);
    $("categoria").value = p.category; $("severidad").value = String(p.severity);
    $("descripcion").value = p.description || "";
    $("momento").value = item.momentoLocal || local(captura.momento);
    $("precision").value = p.gps_accuracy_m === null ? "" : Number(p.gps_accuracy_m).toFixed(1);
    $("editando").classList.remove("hidden");
    $("forma").scrollIntoView();
  }
  $("cancelar-edicion").addEventListener("click", function () { editando = null; $("editando").classList.add("hidden"); });

  // --- my points: what the server answered for each point sent from this phone
  function pintarMisPuntos() {
    return enviadas().then(function (lista) {
      var ul = $("mis-puntos");
      if (!lista.length) { return; }
      ul.textContent = "";
      lista.sort(function (a, b) { return b.enviada - a.enviada; }).slice(0, 20).forEach(function (e) {
        var p = (e.registro && e.registro.properties) || {}, partes = [];
        partes.push(horaDeCaptura(p.observed_at || new Date(e.enviada).toISOString(), p.observed_offset_min) +
          " · " + etiqueta(p.category));
        partes.push(p.municipality_name ? "Municipio: " + p.municipality_name : "Fuera de los municipios cargados");
        if (p.river_name) {
          partes.push("Río " + p.river_name + ", cadenamiento " + Math.round(p.chainage_m) + " m, a " +
            Math.round(p.river_distance_m) + " m del cauce" +
            (p.in_federal_zone ? ", dentro de la zona federal" : ", fuera de la zona federal"));
        }
        partes.push(p.dispute ? "Zona en disputa: " + p.dispute : "Sin zona en disputa");
        var li = document.createElement("li"); li.textContent = partes.join(" · "); ul.appendChild(li);
      });
    });
  }
  function mostrarRespuesta(registro) {
    var p = registro.properties || {}, partes = ["Registrada."];
    if (p.municipality_name) { partes.push("Municipio: " + p.municipality_name + "."); }
    if (p.dispute) { partes.push(p.dispute + "."); }
    if (p.river_name) {
      partes.push("Río más cercano: " + p.river_name + " a " + Math.round(p.river_distance_m) + " m" +
        (p.in_federal_zone ? " (dentro de la zona federal)." : "."));
    }
    $("respuesta").textContent = partes.join(" ");
    $("respuesta").classList.remove("hidden");
  }

  // --- sending: one item at a time, with the session's current CSRF token
  function sesionActual() {
    return fetch("/inspecciones/sesion", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { return null; }
      if (!r.ok) { throw new Error("sin servidor"); }
      return r.json();
    });
  }
  function enviarUno(item) {
    var opciones = { method: "POST", headers: { "X-CSRF-Token": CSRF }, credentials: "same-origin" };
    if (item.fotos.length) {
      var datos = new FormData();
      datos.append("inspection", JSON.stringify(item.feature));
      item.fotos.forEach(function (f) { datos.append("photos", f.blob, f.nombre); });
      opciones.body = datos;
    } else {
      opciones.headers["Content-Type"] = "application/json";
      opciones.body = JSON.stringify(item.feature);
    }
    return fetch("/inspections", opciones).then(function (r) {
      if (r.status === 200 || r.status === 201) {
        return r.json().then(function (registro) {
          return almacen("enviadas", "readwrite", function (s) {
            return s.put({ id: item.id, registro: registro, enviada: Date.now() });
          }).then(function () { return quitar(item.id); }).then(function () {
            mostrarRespuesta(registro); return "enviada";
          });
        });
      }
      if (r.status === 401 || r.status === 403) {  // kept until a session that may send it
        item.estado = "sesion";
        item.mensaje = r.status === 401 ? "Su sesión terminó: vuelva a entrar y se enviará sola." :
          "Su cuenta no puede registrar esta inspección: entre con una cuenta de inspección y se enviará sola.";
        return guardar(item).then(function () { return "sesion"; });
      }
      if (r.status === 408 || r.status === 429 || r.status >= 500) { return "despues"; }
      return r.json().catch(function () { return {}; }).then(function (cuerpo) {
        item.estado = "rechazada";
        item.mensaje = enEspanol(r.status, cuerpo) + " Corríjala y envíela de nuevo.";
        return guardar(item).then(function () { return "rechazada"; });
      });
    }, function () { return "despues"; });  // no signal: it stays on the device
  }
  function sincronizar() {
    // without signal nothing is tried: the "online" event starts the next round
    if (enviando || !navigator.onLine) { return pintarCola(); }
    enviando = true;
    return todos().then(function (items) {
      var porEnviar = items.filter(function (i) { return i.estado === "pendiente" || i.estado === "sesion"; });
      if (!porEnviar.length) { return; }
      return sesionActual().then(function (sesion) {
        if (!sesion) {
          aviso("Su sesión terminó: vuelva a entrar (Mi cuenta › Entrar). Lo pendiente sigue guardado en el teléfono.", true);
          return;
        }
        CSRF = sesion.csrf_token;
        return porEnviar.reduce(function (cadena, item) {
          return cadena.then(function (seguir) {
            if (!seguir) { return false; }
            return enviarUno(item).then(function (r) {
              if (r === "sesion") { aviso(item.mensaje + " Lo pendiente sigue guardado en el teléfono.", true); }
              if (r === "rechazada") { aviso(item.mensaje, true); }
              if (r === "enviada") { aviso("Inspección enviada."); }
              if (r === "despues") { aviso("Sin señal: lo pendiente se enviará solo al volver la conexión."); }
              return r !== "despues";
            });
          });
        }, Promise.resolve(true));
      }, function () { aviso("Sin señal: lo pendiente se enviará solo al volver la conexión."); });
    }).finally(function () {
      enviando = false;
      return Promise.all([pintarCola(), pintarMisPuntos()]).then(revisarEspacio);
    });
  }

  // --- a second send of the same point asks first
  function cerca(a, b) {
    var dy = (a[1] - b[1]) * 111320, dx = (a[0] - b[0]) * 111320 * Math.cos(a[1] * Math.PI / 180);
    return Math.sqrt(dx * dx + dy * dy) <= REPETIDA_M;
  }
  function repetida(feature) {
    return Promise.all([todos(), enviadas()]).then(function (listas) {
      var ahora = Date.now();
      var previas = listas[0].map(function (i) { return { id: i.id, f: i.feature, t: i.creada }; }).concat(
        listas[1].map(function (e) { return { id: e.id, f: e.registro, t: e.enviada }; }));
      return previas.filter(function (p) {
        if (p.id === feature.id) { return true; }  // this very capture, sent already
        return p.f && p.f.properties && p.f.properties.category === feature.properties.category &&
          ahora - p.t <= REPETIDA_S * 1000 && cerca(p.f.geometry.coordinates, feature.geometry.coordinates);
      })[0] || null;
    });
  }

  $("enviar").addEventListener("click", function () {
    if (!punto || !captura) { aviso("Marque el punto en el mapa o use su ubicación.", true); return; }
    var escrito = $("momento").value;
    if (!escrito) { aviso("Indique cuándo se observó.", true); return; }
    // the capture's own moment, unless the person corrected it (then: what they wrote, local time)
    // the browser writes a whole minute without its seconds ("10:20", not "10:20:00")
    var momento = sinSegundosCero(escrito) === sinSegundosCero(local(captura.momento)) ? captura.momento : new Date(escrito);
    if (isNaN(momento.getTime())) { aviso("La hora de observación no es válida.", true); return; }
    var feature = {
      type: "Feature", id: editando ? editando.id : captura.id,
      geometry: { type: "Point", coordinates: [Number(punto.lon.toFixed(6)), Number(punto.lat.toFixed(6))] },
      properties: {
        observed_at: conZona(momento),
        category: $("categoria").value,
        severity: Number($("severidad").value),
        description: $("descripcion").value.trim() || null,
        gps_accuracy_m: captura.precision === null ? null : Math.round(captura.precision * 10) / 10
      }
    };
    var archivos = Array.prototype.slice.call($("fotos").files);
    $("enviar").disabled = true;
    (editando ? Promise.resolve(null) : repetida(feature)).then(function (previa) {
      if (previa) {
        var hace = Math.max(1, Math.round((Date.now() - previa.t) / 1000));
        if (!confirm("Ya registró este punto hace " + hace + " s. ¿Registrar otra inspección en el mismo lugar?")) {
          aviso("No se registró de nuevo.");
          return;
        }
        feature.id = uuid();  // asked and confirmed: a new inspection
      }
      var fotos = archivos.map(function (f) { return { nombre: f.name, blob: f }; });
      if (editando && !fotos.length) { fotos = editando.fotos; }
      var item = { id: feature.id, feature: feature, estado: "pendiente", mensaje: null,
        creada: editando ? editando.creada : Date.now(), momentoLocal: escrito, fotos: fotos };
      return guardar(item).then(function () {
        editando = null; $("editando").classList.add("hidden");
        $("descripcion").value = ""; $("fotos").value = ""; contarFotos();
        aviso(navigator.onLine ? "Enviando…" : "Guardada en el teléfono: se enviará al volver la señal.");
        return sincronizar();
      }, function (e) {
        aviso(e && e.name === "QuotaExceededError" ? "El teléfono no tiene espacio: exporte la cola o libere espacio." :
          "No se pudo guardar en el teléfono.", true);
      });
    }).finally(function () { $("enviar").disabled = false; });
  });

  function contarFotos() {
    var n = $("fotos").files.length;
    $("fotos-elegidas").textContent = n ? n + " foto(s) elegida(s)." : "Sin fotos.";
  }
  $("fotos").addEventListener("change", contarFotos);

  // --- export the queue to a file, and import it back (nothing lost to a cleared browser)
  function aDatos(blob) {
    return new Promise(function (listo, fallo) {
      var lector = new FileReader();
      lector.onload = function () { listo(lector.result); };
      lector.onerror = function () { fallo(lector.error); };
      lector.readAsDataURL(blob);
    });
  }
  function aBlob(url) {
    var coma = url.indexOf(","), tipo = url.slice(5, url.indexOf(";")), bytes = atob(url.slice(coma + 1));
    var arreglo = new Uint8Array(bytes.length);
    for (var k = 0; k < bytes.length; k++) { arreglo[k] = bytes.charCodeAt(k); }
    return new Blob([arreglo], { type: tipo });
  }
  $("exportar").addEventListener("click", function () {
    todos().then(function (items) {
      return Promise.all(items.map(function (i) {
        return Promise.all(i.fotos.map(function (f) {
          return aDatos(f.blob).then(function (d) { return { nombre: f.nombre, datos: d }; });
        })).then(function (fotos) { return Object.assign({}, i, { fotos: fotos }); });
      }));
    }).then(function (lista) {
      var texto = JSON.stringify({ formato: "linde-cola", version: 1, exportada: conZona(new Date()), items: lista });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([texto], { type: "application/json" }));
      a.download = "linde-cola-" + local(new Date()).slice(0, 10) + ".json";
      document.body.appendChild(a); a.click(); a.remove();
      aviso("Cola exportada: " + lista.length + " inspección(es). Guarde el archivo.");
    });
  });
  $("importar").addEventListener("change", function () {
    var archivo = this.files[0];
    if (!archivo) { return; }
    archivo.text().then(function (texto) {
      var datos = JSON.parse(texto);
      if (!datos || datos.formato !== "linde-cola" || !Array.isArray(datos.items)) { throw new Error("formato"); }
      return Promise.all([todos(), enviadas()]).then(function (listas) {
        var ya = {};
        listas[0].concat(listas[1]).forEach(function (i) { ya[i.id] = true; });
        var nuevas = datos.items.filter(function (i) { return i.id && i.feature && !ya[i.id]; });
        return nuevas.reduce(function (cadena, i) {
          return cadena.then(function () {
            i.fotos = (i.fotos || []).map(function (f) { return { nombre: f.nombre, blob: aBlob(f.datos) }; });
            if (i.estado !== "rechazada") { i.estado = "pendiente"; }
            return guardar(i);
          });
        }, Promise.resolve()).then(function () {
          aviso("Importadas " + nuevas.length + " de " + datos.items.length + " (las demás ya estaban).");
        });
      });
    }).catch(function () { aviso("Ese archivo no es una cola de Linde.", true); }).finally(function () {
      $("importar").value = "";
      sincronizar();
    });
  });

  // --- storage: ask to keep it, and warn when space is short
  function revisarEspacio() {
    if (!navigator.storage || !navigator.storage.estimate) { return; }
    return navigator.storage.estimate().then(function (e) {
      var libre = (e.quota || 0) - (e.usage || 0);
      var poco = e.quota && (libre < 50 * 1024 * 1024 || e.usage / e.quota > 0.9);
      $("espacio").textContent = poco ? "Queda poco espacio en el teléfono (" + Math.round(libre / 1048576) +
        " MB): envíe o exporte la cola antes de tomar más fotos." : "";
      $("espacio").classList.toggle("hidden", !poco);
    });
  }
  if (navigator.storage && navigator.storage.persist) {
    navigator.storage.persisted().then(function (ya) { return ya || navigator.storage.persist(); });
  }

  // --- the service worker: the app opens without signal; a new version waits to be asked
  var nueva = null, pidioActualizar = false;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/inspecciones/sw.js", { scope: "/inspecciones/" }).then(function (reg) {
      function ofrecer(w) {
        if (w && navigator.serviceWorker.controller) { nueva = w; $("actualizar").classList.remove("hidden"); }
      }
      ofrecer(reg.waiting);
      reg.addEventListener("updatefound", function () {
        var w = reg.installing;
        w.addEventListener("statechange", function () { if (w.state === "installed") { ofrecer(w); } });
      });
    }).catch(function () { /* without a worker the page still works while there is signal */ });
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (pidioActualizar) { pidioActualizar = false; location.reload(); }
    });
  }
  $("actualizar-ya").addEventListener("click", function () {
    if (enviando) { aviso("Espere a que termine el envío y vuelva a tocar «Actualizar»."); return; }
    if (nueva) { pidioActualizar = true; nueva.postMessage("activar"); } else { location.reload(); }
  });

  function red() {
    var sin = !navigator.onLine;
    $("red").textContent = sin ? "sin señal" : "en línea"; $("red").classList.toggle("sin", sin);
    if (!sin) { sincronizar(); }
  }
  window.addEventListener("online", red);
  window.addEventListener("offline", red);
  document.addEventListener("visibilitychange", function () { if (!document.hidden && navigator.onLine) { sincronizar(); } });
  setInterval(function () { if (navigator.onLine) { sincronizar(); } }, 15000);
  $("momento").value = local(new Date());
  $("zona-horaria").textContent = "Hora del teléfono, UTC" + desfase(new Date()) + ".";
  cargarCategorias();
  red();
  pintarCola();
  pintarMisPuntos();
  revisarEspacio();
})();
