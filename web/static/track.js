// The process diagram of a file or receipt, with the current step highlighted.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("diagram-data").textContent);
  const viewer = new BpmnJS({ container: "#diagram" });
  viewer.importXML(data.xml).then(function () {
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    data.done.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "step-done"); });
    data.current.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "step-current"); });
    canvas.zoom("fit-viewport");
    document.getElementById("diagram").dataset.ready = "1";
  }).catch(function (err) {
    document.getElementById("diagram").textContent = String(err);
  });
})();
