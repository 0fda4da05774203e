// Map of the bureaux, in the bureau's edit form: a click drops a marker and tells the page around the map the
// coordinates (postMessage to the same origin only); electoral.js fills the latitude and longitude fields.
(function () {
  "use strict";
  document.addEventListener("portal:map", function (e) {
    var type = (e.detail.config.data || {}).pick;
    if (!type) { return; }
    var map = e.detail.map, marker = null;
    map.getContainer().style.cursor = "crosshair";
    map.on("click", function (ev) {
      var lat = Math.round(ev.latlng.lat * 1e6) / 1e6, lon = Math.round(ev.latlng.lng * 1e6) / 1e6;
      if (marker) { marker.setLatLng(ev.latlng); }
      else { marker = L.circleMarker(ev.latlng, { radius: 9, color: "#ce0500", weight: 3 }).addTo(map); }
      if (window.parent !== window) {
        window.parent.postMessage({ type: type, lat: lat, lon: lon }, window.location.origin);
      }
    });
  });
}());
