/* The cemetery plan (services/cemetery), on the map ("portal:map" of #plan-map, portal/static/js/maps.js) or on a
   cemetery's scanned plan (#scan-map: a Leaflet map in L.CRS.Simple with the image as an imageOverlay).

   The plan comes as one compact JSON (queries.plan_compact): each shape an array of integers, the first point then
   the differences, quantised (q units per degree, or per pixel of the scan). The fetch starts as soon as this
   script runs, while Leaflet builds the map. Zones and allées are drawn as outlines; the emplacements, thousands of
   them, by one canvas layer of ours (PlotLayer) that fills them by state in one path per colour and finds the one
   clicked itself (bounding box, then point in polygon); the bubble's text is fetched when one is clicked. For the
   people who may write, Leaflet.draw's polygon and rectangle tools fill the hidden "geometry" fields of the page's
   forms (in pixels of the image, y downwards, on the scanned plan). */
(function () {
  "use strict";

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) { el.className = cls; }
    return el;
  }

  function configOf(id, attr) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    try { return JSON.parse(el.getAttribute(attr)); } catch (e) { return null; }
  }

  function fetchPlan(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { q: 1, plots: [], outlines: [], colours: [], states: [] }; });
  }

  /* Started now, before the map exists: the plan downloads while the page and Leaflet finish loading. */
  var early = {};
  (function () {
    var map = configOf("plan-map", "data-map"), scan = configOf("scan-map", "data-scan");
    if (map && map.data && map.data.url) { early[map.data.url] = fetchPlan(map.data.url); }
    if (scan && scan.url) { early[scan.url] = fetchPlan(scan.url); }
  }());

  function planFor(url) {
    var p = early[url] || fetchPlan(url);
    delete early[url];
    return p;
  }

  /* [x0, y0, dx1, dy1, …] from ``start`` → [[x, y], …] in degrees (or pixels). */
  function unpack(arr, start, q) {
    var pts = [], x = 0, y = 0;
    for (var i = start; i + 1 < arr.length; i += 2) {
      x += arr[i];
      y += arr[i + 1];
      pts.push([x / q, y / q]);
    }
    return pts;
  }

  var PlotLayer = window.L ? window.L.Layer.extend({
    /* plots: [{id, s, k, r: the packed record}]; options: q, toLL(x, y) → {lat, lng}, colours, states, focus,
       onClick(plot, latlng) */
    initialize: function (plots, options) {
      this._plots = plots;
      window.L.setOptions(this, options);
    },
    onAdd: function (map) {
      var L = window.L;
      this._canvas = L.DomUtil.create("canvas", "cemetery-plots leaflet-zoom-hide");
      this._canvas.setAttribute("aria-hidden", "true");
      map.getPanes().overlayPane.appendChild(this._canvas);
      /* decoded and projected once, at zoom 0, straight from the packed integers (no LatLng per point): every
         redraw only scales and shifts them */
      var crs = map.options.crs, proj = crs.projection, tr = crs.transformation, sc = crs.scale(0);
      var q = this.options.q, toLL = this.options.toLL, minx = Infinity, miny = Infinity, maxx = -Infinity,
          maxy = -Infinity;
      this._plots.forEach(function (p) {
        var r = p.r, x = 0, y = 0, xy = [], b = [Infinity, Infinity, -Infinity, -Infinity];
        for (var i = 3; i + 1 < r.length; i += 2) {
          x += r[i];
          y += r[i + 1];
          var pt = tr.transform(proj.project(toLL(x / q, y / q)), sc);
          xy.push(pt);
          if (pt.x < b[0]) { b[0] = pt.x; }
          if (pt.y < b[1]) { b[1] = pt.y; }
          if (pt.x > b[2]) { b[2] = pt.x; }
          if (pt.y > b[3]) { b[3] = pt.y; }
        }
        p.xy = xy;
        p.box = b;
        p.r = null;
        if (b[0] < minx) { minx = b[0]; }
        if (b[1] < miny) { miny = b[1]; }
        if (b[2] > maxx) { maxx = b[2]; }
        if (b[3] > maxy) { maxy = b[3]; }
      });
      this._extent = minx === Infinity ? null : [minx, miny, maxx, maxy];
      map.on("moveend zoomend resize viewreset", this._redraw, this);
      map.on("click", this._click, this);
      map.on("mousemove", this._hover, this);
      this._redraw();
    },
    onRemove: function (map) {
      map.off("moveend zoomend resize viewreset", this._redraw, this);
      map.off("click", this._click, this);
      map.off("mousemove", this._hover, this);
      this._canvas.remove();
    },
    getBounds: function () {
      var L = window.L, map = this._map, e = this._extent;
      if (!e) { return L.latLngBounds([]); }
      return L.latLngBounds(map.unproject([e[0], e[3]], 0), map.unproject([e[2], e[1]], 0));
    },
    boundsOf: function (id) {
      var L = window.L, map = this._map, p = this.find(id);
      return p ? L.latLngBounds(map.unproject([p.box[0], p.box[3]], 0), map.unproject([p.box[2], p.box[1]], 0)) : null;
    },
    find: function (id) {
      for (var i = 0; i < this._plots.length; i++) { if (this._plots[i].id === id) { return this._plots[i]; } }
      return null;
    },
    stateOf: function (id) {
      var p = this.find(id);
      return p ? this.options.states[p.s] : null;
    },
    open: function (id) {
      var p = this.find(id);
      if (p) { this.options.onClick(p, this.boundsOf(id).getCenter()); }
      return !!p;
    },
    _redraw: function () {
      var L = window.L, map = this._map;
      if (!map) { return; }
      var size = map.getSize(), ratio = window.devicePixelRatio || 1, canvas = this._canvas;
      var topLeft = map.containerPointToLayerPoint([0, 0]);
      L.DomUtil.setPosition(canvas, topLeft);
      canvas.width = Math.round(size.x * ratio);
      canvas.height = Math.round(size.y * ratio);
      canvas.style.width = size.x + "px";
      canvas.style.height = size.y + "px";
      var ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      var scale = map.getZoomScale(map.getZoom(), 0), origin = map.getPixelOrigin();
      var ox = origin.x + topLeft.x, oy = origin.y + topLeft.y;
      var x0 = ox / scale, y0 = oy / scale, x1 = (ox + size.x) / scale, y1 = (oy + size.y) / scale;
      var colours = this.options.colours, groups = colours.map(function () { return []; }), focus = null;
      var id = this.options.focus;
      this._plots.forEach(function (p) {
        if (p.box[2] < x0 || p.box[0] > x1 || p.box[3] < y0 || p.box[1] > y1) { return; }
        groups[p.s].push(p);
        if (p.id === id) { focus = p; }
      });
      /* Each ring closed by a line back to its first point, not by closePath(): in Chromium closePath() on a path
         of thousands of sub-paths took most of the page's time (874 ms of CPU profile for 10 000 emplacements,
         bench/cemetery.py); the fill closes the rings by itself, the stroke gets the same last side. */
      function trace(p) {
        var xy = p.xy, fx = xy[0].x * scale - ox, fy = xy[0].y * scale - oy;
        ctx.moveTo(fx, fy);
        for (var j = 1; j < xy.length; j++) { ctx.lineTo(xy[j].x * scale - ox, xy[j].y * scale - oy); }
        ctx.lineTo(fx, fy);
      }
      ctx.lineWidth = 1;
      groups.forEach(function (list, s) {
        if (!list.length) { return; }
        ctx.beginPath();
        list.forEach(trace);
        ctx.globalAlpha = 0.55;
        ctx.fillStyle = colours[s];
        ctx.fill();
        ctx.globalAlpha = 1;
        ctx.strokeStyle = colours[s];
        ctx.stroke();
      });
      if (focus) {
        ctx.beginPath();
        trace(focus);
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#161616";
        ctx.stroke();
      }
    },
    _at: function (latlng) {
      var pt = this._map.project(latlng, 0), x = pt.x, y = pt.y;
      for (var i = this._plots.length - 1; i >= 0; i--) {
        var p = this._plots[i], b = p.box;
        if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) { continue; }
        var inside = false, xy = p.xy;
        for (var a = 0, c = xy.length - 1; a < xy.length; c = a++) {
          if ((xy[a].y > y) !== (xy[c].y > y) &&
              x < (xy[c].x - xy[a].x) * (y - xy[a].y) / (xy[c].y - xy[a].y) + xy[a].x) { inside = !inside; }
        }
        if (inside) { return p; }
      }
      return null;
    },
    _click: function (e) {
      if (this._map._cemeteryDrawing) { return; }
      var p = this._at(e.latlng);
      if (p) { this.options.onClick(p, e.latlng); }
    },
    _hover: function (e) {
      this._map.getContainer().style.cursor = this._at(e.latlng) ? "pointer" : "";
    }
  }) : null;

  /* Draws the plan fetched from data.url on ``map``; toLL(x, y) turns a point of the plan into {lat, lng}. */
  function drawPlan(L, map, data, toLL, fit) {
    var labels = data.labels || {}, canvas = L.canvas({ padding: 0.2 });
    return planFor(data.url).then(function (plan) {
      var q = plan.q || 1, outlines = L.featureGroup();
      (plan.outlines || []).forEach(function (o) {
        var layer = o[0];
        L.polygon(unpack(o[3], 0, q).map(function (p) { return toLL(p[0], p[1]); }), {
          renderer: canvas, interactive: false, fill: false,
          color: layer === "cemetery" ? "#3a3a3a" : "#6a6af4", weight: layer === "alley" ? 1 : 2,
          dashArray: layer === "alley" ? "4 3" : null
        }).addTo(outlines);
      });
      outlines.addTo(map);
      var plots = (plan.plots || []).map(function (r) { return { id: r[0], s: r[1], k: r[2], r: r }; });
      var bubble = function (p, latlng) {
        fetch(data.bubble.replace(/\/0\/bulle\.json$/, "/" + p.id + "/bulle.json"),
              { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (b) {
            if (!b) { return; }
            var box = document.createElement("div");
            box.appendChild(text("strong", b.n));
            box.appendChild(document.createElement("br"));
            box.appendChild(document.createTextNode(b.k + " — " + b.state + " — " + b.p + " " + (labels.places || "")));
            box.appendChild(document.createElement("br"));
            var a = text("a", labels.open || "Open");
            a.href = b.url;
            box.appendChild(a);
            L.popup().setLatLng(latlng).setContent(box).openOn(map);
          });
      };
      var layer = new PlotLayer(plots, { q: q, toLL: toLL, colours: plan.colours, states: plan.states,
                                         focus: data.focus, onClick: bubble });
      layer.addTo(map);
      var focus = data.focus ? layer.boundsOf(data.focus) : null;
      if (focus) { map.fitBounds(focus, { maxZoom: fit.maxZoom, padding: [60, 60] }); }
      else {
        var all = layer.getBounds();
        if (outlines.getLayers().length) { all.extend(outlines.getBounds()); }
        if (all.isValid()) { map.fitBounds(all, { maxZoom: fit.maxZoom, padding: [20, 20] }); }
      }
      map.getContainer().setAttribute("data-loaded", String(plots.length + (plan.outlines || []).length));
      window.cemeteryPlan = layer;
      return layer;
    });
  }

  function addDraw(L, map, labels, toPlan) {
    var words = labels.draw || {}, local = L.drawLocal;
    if (local && words.polygon) {  /* Leaflet.draw's own words, in the portal's language */
      local.draw.toolbar.buttons.polygon = words.polygon;
      local.draw.toolbar.buttons.rectangle = words.rectangle;
      local.draw.toolbar.actions.text = words.cancel;
      local.draw.toolbar.actions.title = words.cancel;
      local.draw.toolbar.finish.text = words.finish;
      local.draw.toolbar.finish.title = words.finish;
      local.draw.toolbar.undo.text = words.undo;
      local.draw.toolbar.undo.title = words.undo;
      local.draw.handlers.polygon.tooltip = { start: words.start, cont: words.cont, end: words.end };
      local.draw.handlers.rectangle.tooltip.start = words.start;
      local.draw.handlers.simpleshape.tooltip.end = words.finish;
      local.edit.toolbar.buttons.edit = words.edit;
      local.edit.toolbar.buttons.remove = words.remove;
      local.edit.toolbar.actions.save.text = words.save;
      local.edit.toolbar.actions.save.title = words.save;
      local.edit.toolbar.actions.cancel.text = words.cancel;
      local.edit.toolbar.actions.cancel.title = words.cancel;
      local.edit.toolbar.actions.clearAll.text = words.clear;
      local.edit.toolbar.actions.clearAll.title = words.clear;
    }
    var drawn = new L.FeatureGroup().addTo(map);
    map.addControl(new L.Control.Draw({
      draw: { polygon: { allowIntersection: false, showArea: false }, polyline: false, circle: false,
              circlemarker: false, marker: false, rectangle: { showArea: false } },
      edit: { featureGroup: drawn, remove: true }
    }));
    function publish() {
      var value = "";
      drawn.eachLayer(function (lyr) { value = JSON.stringify(toPlan(lyr)); });
      Array.prototype.forEach.call(document.querySelectorAll("input.drawn-geometry"), function (input) {
        input.value = value;
      });
      var status = document.getElementById("drawn-status");
      if (status) { status.textContent = value ? (labels.drawn || "") : ""; }
    }
    /* while a shape is being drawn, a click on an emplacement is a corner, not a bubble */
    map.on(L.Draw.Event.DRAWSTART, function () { map._cemeteryDrawing = true; });
    map.on(L.Draw.Event.DRAWSTOP, function () { map._cemeteryDrawing = false; });
    map.on(L.Draw.Event.CREATED, function (ev) {
      drawn.clearLayers();
      drawn.addLayer(ev.layer);
      publish();
    });
    map.on(L.Draw.Event.EDITED, publish);
    map.on(L.Draw.Event.DELETED, publish);
  }

  /* For bench/cemetery.py: the plan of ``url`` (or ``plan``, already fetched) drawn on ``map`` as the page draws it
     (a promise of the layer). */
  window.cemeteryDrawPlan = function (map, url, plan) {
    var L = window.L;
    if (plan) { early[url] = Promise.resolve(plan); }
    return drawPlan(L, map, { url: url, labels: {} }, function (x, y) { return { lat: y, lng: x }; }, { maxZoom: 21 });
  };

  /* The map ---------------------------------------------------------------------------------------------------- */
  document.addEventListener("portal:map", function (e) {
    if (e.target.id !== "plan-map") { return; }
    var L = window.L, map = e.detail.map, data = e.detail.config.data || {};
    if (data.cadastre) {
      L.tileLayer(data.cadastre, { maxZoom: 22, maxNativeZoom: 19, opacity: 0.7 }).addTo(map);
    }
    /* the portal's maps stop at zoom 18: a cemetery needs closer */
    drawPlan(L, map, data, function (x, y) { return { lat: y, lng: x }; }, { maxZoom: 21 });
    if (!data.draw || !L.Control || !L.Control.Draw) { return; }
    addDraw(L, map, data.labels || {}, function (lyr) { return lyr.toGeoJSON().geometry; });
  });

  /* The scanned plan ------------------------------------------------------------------------------------------- */
  function buildScan() {
    var el = document.getElementById("scan-map"), L = window.L;
    if (!el || !L || el._built) { return; }
    el._built = true;
    var data = configOf("scan-map", "data-scan"), h = data.height, w = data.width;
    var map = L.map(el, { crs: L.CRS.Simple, minZoom: -6, maxZoom: 4, zoomSnap: 0.25, attributionControl: false });
    var bounds = [[0, 0], [h, w]];
    L.imageOverlay(data.image, bounds, { alt: "" }).addTo(map);
    map.fitBounds(bounds);
    map.setMaxBounds(L.latLngBounds(bounds).pad(0.5));
    window.portalMaps = window.portalMaps || {};
    window.portalMaps["scan-map"] = map;
    /* pixels of the image (x right, y down) ↔ CRS.Simple (lng = x, lat = height − y) */
    drawPlan(L, map, data, function (x, y) { return { lat: h - y, lng: x }; }, { maxZoom: 2 });
    if (!data.draw || !L.Control || !L.Control.Draw) { return; }
    addDraw(L, map, data.labels || {}, function (lyr) {
      var ring = lyr.getLatLngs()[0].map(function (ll) {
        return [Math.round(ll.lng * 10) / 10, Math.round((h - ll.lat) * 10) / 10];
      });
      ring.push(ring[0]);
      return { type: "Polygon", coordinates: [ring] };
    });
  }
  if (document.readyState === "complete") { buildScan(); }
  else {
    document.addEventListener("DOMContentLoaded", buildScan);
    window.addEventListener("load", buildScan);
  }
}());
