// Replay: the diagram of the version that ran, as it stood after the chosen event —
// the event's own step, the steps open at that moment and the steps already done.
(function () {
  "use strict";
  const box = document.getElementById("diagram");
  const data = JSON.parse(document.getElementById("replay-data").textContent);
  const viewer = new BpmnJS({ container: box });
  viewer.importXML(data.xml).then(function () {
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    function mark(ids, cls) {
      ids.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, cls); });
    }
    mark(data.done, "step-done");
    mark(data.active, "step-current");
    mark(data.event, "step-event");
    canvas.zoom("fit-viewport");
    box.dataset.ready = "1";
  }).catch(function (err) {
    box.textContent = String(err);
  });
})();
