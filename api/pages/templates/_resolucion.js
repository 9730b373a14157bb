  // --- proposals drawn on the map, and decisions previewed before they apply ---------
  var COLORES = {{ party_colors | tojson }};
  var DECIDIBLES = ["open", "under_review", "agreement"];
  var dibujada = null, turno = 0, espera = null, previa = null, eventos = [];
  function hectareas(m2) { return numero(m2 / 10000, 2) + " ha"; }
  function colorDe(clave) {
    var i = (zona.parties || []).map(function (p) { return p.cvegeo; }).indexOf(clave);
    return COLORES[(i < 0 ? 0 : i) % COLORES.length];
  }
  function avisoPropuesta(t, error) {
    var p = document.getElementById("propuesta-estado");
    p.textContent = t; p.classList.toggle("error", !!error);
  }
  function alMapa(mensaje) {
    var marco = document.getElementById("mapa").contentWindow;
    if (marco) { marco.postMessage(mensaje, "*"); }
  }
  function pintarBalance(partes) {
    var cuerpo = document.querySelector("#balance tbody");
    cuerpo.textContent = "";
    partes.forEach(function (p) {
      var fila = document.createElement("tr");
      fila.appendChild(texto("td", p.name + " (" + p.cvegeo + ")"));
      fila.appendChild(celdaNum(hectareas(p.receives_m2)));
      fila.appendChild(celdaNum(hectareas(p.gains_m2)));
      fila.appendChild(celdaNum(hectareas(p.loses_m2)));
      cuerpo.appendChild(fila);
    });
  }
  function medirPropuesta(terminado) {
    var boton = document.getElementById("guardar-propuesta");
    boton.disabled = true;
    if (!dibujada) { pintarBalance([]); avisoPropuesta("Aún no hay dibujo."); return; }
    var mio = ++turno;
    avisoPropuesta("Midiendo…");
    pedir("/disputes/" + ZONA + "/proposal-preview", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ party: campo("propuesta-parte").value, geometry: dibujada })
    }).then(function (r) { return r.json(); }).then(function (b) {
      if (mio !== turno) { return; }  // a newer drawing is being measured
      pintarBalance(b.parties);
      avisoPropuesta(terminado ? "Medido en el servidor sobre la proyección INEGI (EPSG:6372)."
                               : "Dibujando… (medido hasta el último vértice)");
      boton.disabled = !terminado;
    }).catch(function (e) {
      if (mio !== turno) { return; }
      pintarBalance([]);
      avisoPropuesta("No se puede medir: " + e.message, true);
    });
  }
  window.addEventListener("message", function (ev) {
    var marco = document.getElementById("mapa").contentWindow;
    if (ev.source !== marco || !ev.data || ev.data.linde !== "propuesta") { return; }
    dibujada = ev.data.geometry || null;
    clearTimeout(espera);
    var terminado = !!ev.data.terminado;
    espera = setTimeout(function () { medirPropuesta(terminado); }, 150);
  });
  document.querySelector("[name=propuesta-parte]").addEventListener("change", function () {
    medirPropuesta(true);
  });
  document.getElementById("guardar-propuesta").addEventListener("click", function () {
    if (!dibujada) { aviso("Dibuje la propuesta en el mapa primero.", true); return; }
    escribir("/disputes/" + ZONA + "/proposals", {
      party: campo("propuesta-parte").value, geometry: dibujada,
      summary: campo("propuesta-resumen").value.trim() || null
    }, "Propuesta guardada en el expediente.").then(function () {
      if (!estado.classList.contains("error")) { campo("propuesta-resumen").value = ""; dibujada = null; }
    });
  });
  function conMapaDeDibujo(html) {
    // geoman and the drawing script join the map in its own sandboxed frame
    var fin = html.lastIndexOf("</html>");
    var extra = '<link rel="stylesheet" href="/maps/static/leaflet-geoman-free-2.20.2/leaflet-geoman.css">' +
      '<script src="/maps/static/leaflet-geoman-free-2.20.2/leaflet-geoman.min.js"><\/script>' +
      '<script src="/maps/static/linde/propuesta.js"><\/script>';
    return fin < 0 ? html + extra : html.slice(0, fin) + extra + html.slice(fin);
  }
  function puedeProponer() {
    return (rol === "commission" || rol === "admin" || rol === "representative") &&
      DECIDIBLES.indexOf(zona.status) >= 0 && (zona.parties || []).length === 2;
  }
  function pintarResolucion(lista) {
    eventos = lista;
    previa = null;
    document.getElementById("previa").classList.add("hidden");
    document.getElementById("propuesta").classList.toggle("hidden", !puedeProponer());
    var elegir = campo("propuesta-parte"), antes = elegir.value;
    elegir.textContent = "";
    (zona.parties || []).forEach(function (p) {
      var o = texto("option", p.name + " (" + p.cvegeo + ")"); o.value = p.cvegeo; elegir.appendChild(o);
    });
    if (antes) { elegir.value = antes; }
    pintarBalance([]); avisoPropuesta("Aún no hay dibujo.");
    document.getElementById("guardar-propuesta").disabled = true;
    var decide = (rol === "commission" || rol === "admin") && DECIDIBLES.indexOf(zona.status) >= 0;
    document.getElementById("resolucion").classList.toggle("hidden", !decide);
    var forma = campo("resolucion-forma");
    forma.textContent = "";
    var oficial = texto("option", "Dividir por el límite oficial (INEGI)"); oficial.value = "oficial";
    forma.appendChild(oficial);
    eventos.filter(function (e) { return e.kind === "proposal" && e.details && e.details.party && e.area_m2; })
      .forEach(function (e) {
        var o = texto("option", "Adoptar la propuesta n.º " + e.id + ": " + nombreParte(e.details.party) +
          " recibe lo dibujado (" + fecha(e.occurred_at) + ")");
        o.value = String(e.id); forma.appendChild(o);
      });
  }
  function plan() {
    var forma = campo("resolucion-forma").value;
    var p = { source_reference: campo("resolucion-referencia").value.trim() || null,
              summary: campo("resolucion-texto").value.trim() || null };
    if (forma === "oficial") { p.split_along_official_line = true; } else { p.proposal_id = Number(forma); }
    return p;
  }
  document.getElementById("ver-previa").addEventListener("click", function () {
    var pedido = plan();
    aviso("Preparando la vista previa…");
    pedir("/disputes/" + ZONA + "/decision-preview", {
      method: "POST", headers: { "Content-Type": "application/json", "If-Match": zona.etag },
      body: JSON.stringify(pedido)
    }).then(function (r) { return r.json(); }).then(function (b) {
      previa = pedido;
      var cuerpo = document.querySelector("#previa-tabla tbody");
      cuerpo.textContent = "";
      b.parties.forEach(function (p) {
        var fila = document.createElement("tr");
        var nombre = texto("td", p.name + " (" + p.cvegeo + ")");
        var muestra = document.createElement("i"); muestra.className = "muestra";
        muestra.style.background = colorDe(p.cvegeo); nombre.prepend(muestra);
        fila.appendChild(nombre);
        fila.appendChild(celdaNum(hectareas(p.part_m2)));
        fila.appendChild(celdaNum(p.claim_before_m2 == null ? "—" : hectareas(p.claim_before_m2)));
        fila.appendChild(celdaNum(hectareas(p.claim_after_m2)));
        cuerpo.appendChild(fila);
      });
      alMapa({ linde: "partes", partes: Object.keys(b.parts).map(function (k) {
        return { geometry: b.parts[k], color: colorDe(k) }; }) });
      document.getElementById("previa").classList.remove("hidden");
      aviso("Vista previa lista: revísela y confirme.");
    }).catch(function (e) {
      if (e.status === 412) {
        return cargar().then(function () {
          aviso("Alguien cambió esta zona mientras usted la revisaba; se volvió a cargar. Pida la vista previa de nuevo.", true);
        });
      }
      aviso("No hay vista previa: " + e.message, true);
    });
  });
  document.getElementById("confirmar-resolucion").addEventListener("click", function () {
    if (!previa) { aviso("Pida primero la vista previa.", true); return; }
    escribir("/disputes/" + ZONA + "/decision-plan", previa, "Resolución aplicada: la zona queda resuelta.");
  });
