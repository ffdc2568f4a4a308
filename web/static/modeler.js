// The designer's modeler: edit, validate (problems shown on their elements), deploy.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("modeler-data").textContent);
  const msg = data.messages;
  const modeler = new BpmnJS({ container: "#canvas", keyboard: { bindTo: document } });
  window.sanchikaModeler = modeler;  // reachable from the browser console and tests
  const result = document.getElementById("result");
  const list = document.getElementById("problems");
  const token = document.querySelector("meta[name=csrf-token]").content;
  let marked = [];

  modeler.importXML(data.xml).then(function () {
    modeler.get("canvas").zoom("fit-viewport");
    document.getElementById("canvas").dataset.ready = "1";
  });

  function clearProblems() {
    const canvas = modeler.get("canvas");
    marked.forEach(function (id) { canvas.removeMarker(id, "has-error"); });
    marked = [];
    modeler.get("overlays").remove({ type: "problem" });
    list.replaceChildren();
  }

  function showProblems(problems) {
    const canvas = modeler.get("canvas");
    const overlays = modeler.get("overlays");
    const registry = modeler.get("elementRegistry");
    problems.forEach(function (p) {
      const li = document.createElement("li");
      li.textContent = (p.element_id ? p.element_id + ": " : "") + p.message +
        (p.line ? " (" + msg.line + " " + p.line + ")" : "");
      list.appendChild(li);
      if (p.element_id && registry.get(p.element_id)) {
        canvas.addMarker(p.element_id, "has-error");
        marked.push(p.element_id);
        const note = document.createElement("div");
        note.className = "problem-overlay";
        note.textContent = p.message;
        overlays.add(p.element_id, "problem", { position: { bottom: -4, left: 0 }, html: note });
      }
    });
  }

  async function post(url, xml) {
    const response = await fetch(url, {
      method: "POST", body: xml, credentials: "same-origin",
      headers: { "Content-Type": "application/xml", "X-CSRFToken": token },
    });
    return { status: response.status, body: await response.json() };
  }

  async function currentXml() {
    // A label still being typed belongs to the diagram: finish the edit before saving.
    const editing = modeler.get("directEditing");
    if (editing.isActive()) editing.complete();
    return (await modeler.saveXML({ format: true })).xml;
  }

  document.getElementById("validate").addEventListener("click", async function () {
    clearProblems();
    const answer = await post(data.validate, await currentXml());
    if (answer.body.valid) {
      result.textContent = msg.valid;
      result.className = "flash ok";
    } else {
      result.textContent = msg.invalid;
      result.className = "flash error";
      showProblems(answer.body.problems || []);
    }
  });

  const deploy = document.getElementById("deploy");
  if (deploy) {
    deploy.addEventListener("click", async function () {
      if (!window.confirm(msg.confirm)) return;
      clearProblems();
      const answer = await post(data.deploy, await currentXml());
      if (answer.body.valid) {
        const text = answer.body.created ? msg.deployed : msg.same;
        result.textContent = text.replace("{v}", answer.body.version);
        result.className = "flash ok";
      } else {
        result.textContent = answer.body.message || msg.invalid;
        result.className = "flash error";
        showProblems(answer.body.problems || []);
      }
    });
  }

  document.getElementById("import").addEventListener("change", async function (event) {
    const file = event.target.files[0];
    if (!file) return;
    clearProblems();
    try {
      await modeler.importXML(await file.text());
      modeler.get("canvas").zoom("fit-viewport");
      result.textContent = "";
      result.className = "";
    } catch (err) {
      result.textContent = msg.invalid + " " + err.message;
      result.className = "flash error";
    }
  });

  document.getElementById("download").addEventListener("click", async function (event) {
    const link = event.currentTarget;
    if (link.dataset.ready) return;
    event.preventDefault();
    link.href = "data:application/xml;charset=utf-8," + encodeURIComponent(await currentXml());
    link.dataset.ready = "1";
    link.click();
    delete link.dataset.ready;
  });
})();
