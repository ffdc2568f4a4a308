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
    // On a phone the whole diagram is too small to read: show the event's step (or the
    // first open one) at a readable size, in the middle; the rest is a drag away.
    const focus = registry.get(data.event[0] || data.active[0] || "");
    if (focus && box.clientWidth < 600 && canvas.viewbox().scale < 0.6) {
      const scale = 0.75;
      const w = box.clientWidth / scale;
      const h = box.clientHeight / scale;
      canvas.viewbox({ x: focus.x + focus.width / 2 - w / 2,
                       y: focus.y + focus.height / 2 - h / 2, width: w, height: h });
    }
    box.dataset.ready = "1";
  }).catch(function (err) {
    box.textContent = String(err);
  });
})();
