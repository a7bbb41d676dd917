/* Draws route_map.html from the plan's JSON (script#sgr-data). Every value from a stop file is set as text
   (textContent) or as a Leaflet option, never parsed as HTML, so no file field can run script or break the page.
   This file holds no data: route_map_html.py embeds it verbatim. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("sgr-data").textContent);

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function table(rows) {
    var t = el("table", "sgr-popup");
    rows.forEach(function (row) {
      var tr = t.insertRow();
      tr.insertCell().appendChild(el("b", null, row[0]));
      tr.insertCell().textContent = String(row[1]);
    });
    return t;
  }
  function escapeHtml(text) { /* only for Leaflet's layer-control labels, which it sets as HTML */
    var d = document.createElement("div");
    d.textContent = String(text);
    return d.innerHTML;
  }
  function label(text) { return el("span", null, text); }
  function popup(point) { /* the rows, then navigation links (https URLs built from coordinates only) */
    var box = el("div");
    box.appendChild(table(point.rows));
    Object.keys(point.links || {}).forEach(function (name) {
      var href = String(point.links[name]);
      if (!/^https:\/\/(www\.google\.com\/maps\/|waze\.com\/ul\?)/.test(href)) return;
      var a = el("a", "sgr-nav", name);
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener";
      box.appendChild(a);
      box.appendChild(document.createTextNode(" "));
    });
    return box;
  }
  function markerAt(point, icon) {
    return L.marker([point.lat, point.lon], { icon: icon }).bindPopup(popup(point), { maxWidth: 320 })
      .bindTooltip(label(point.tooltip));
  }
  function divIcon(node, className, size) {
    return L.divIcon({ html: node, className: className, iconSize: [size, size], iconAnchor: [size / 2, size / 2] });
  }

  var map = L.map("sgr-map", { zoomControl: true });
  L.control.scale().addTo(map);
  L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution, minZoom: 11, maxZoom: 19 }).addTo(map);

  var overlays = {};
  data.routes.forEach(function (route) {
    var group = L.featureGroup();
    route.lines.forEach(function (line) {
      L.polyline(line.points, {
        color: route.color, weight: line.weight, opacity: 0.85, dashArray: line.dash || null,
        className: line.className
      }).bindTooltip(label(line.tooltip)).addTo(group);
    });
    route.stops.forEach(function (stop) {
      if (data.numbered) {
        var pin = el("div", "sgr-pin", stop.seq);
        pin.style.background = route.color;
        markerAt(stop, divIcon(pin, "sgr-stop", 20)).addTo(group);
      } else {
        L.circleMarker([stop.lat, stop.lon], { radius: 4, color: route.color, fill: true, fillOpacity: 0.9 })
          .bindPopup(popup(stop), { maxWidth: 320 }).bindTooltip(label(stop.tooltip)).addTo(group);
      }
    });
    group.addTo(map);
    overlays['<span class="sgr-layer-swatch" style="color:' + route.color + '">&#9632;</span> ' +
      escapeHtml(route.name)] = group;
  });
  if (data.dropped.stops.length) {
    var dropped = L.featureGroup();
    data.dropped.stops.forEach(function (stop) {
      markerAt(stop, divIcon(el("div", "sgr-dropped", "\u2715"), "sgr-dropped-stop", 20)).addTo(dropped);
    });
    dropped.addTo(map);
    overlays[escapeHtml(data.dropped.name)] = dropped;
  }
  data.depots.forEach(function (depot) {
    markerAt(depot, divIcon(el("div", "sgr-depot", "D"), "sgr-depot-marker", 22)).addTo(map);
  });

  /* On a small screen the layer list and the legend start folded so they do not cover the stops. */
  var roomy = window.innerWidth >= 1200 && window.innerHeight >= 800;
  L.control.layers(null, overlays, { collapsed: !roomy }).addTo(map);

  var Legend = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      var box = el("details", "sgr-legend");
      box.id = "sgr-legend";
      box.open = roomy;
      box.appendChild(el("summary", null, data.legend.title));
      data.legend.lines.forEach(function (text) { box.appendChild(el("div", null, text)); });
      data.legend.routes.forEach(function (route) {
        var row = el("div", "sgr-legend-route");
        var swatch = el("span", "sgr-swatch");
        swatch.style.background = route.color;
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(route.text));
        box.appendChild(row);
      });
      box.appendChild(el("div", null, data.legend.key));
      if (data.legend.offMap.length) {
        box.appendChild(el("div", null, data.legend.offMapTitle));
        var list = el("ul");
        data.legend.offMap.forEach(function (text) { list.appendChild(el("li", null, text)); });
        box.appendChild(list);
      }
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    }
  });
  new Legend().addTo(map);
  map.fitBounds(data.bounds);
})();
