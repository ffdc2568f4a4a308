// The officer's desk: post pickers that narrow as you type, one action form open at a
// time, and the inbox's "choose several" count and batch-form fields.
(function () {
  "use strict";

  // Post picker: typing in the search box hides the posts that do not match (name,
  // designation or post code); the select stays an ordinary, keyboard-usable control.
  document.querySelectorAll("input.picker-q").forEach(function (box) {
    const select = document.getElementById(box.dataset.for);
    if (!select) return;
    box.addEventListener("input", function () {
      const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      let first = null;
      select.querySelectorAll("option[data-search]").forEach(function (option) {
        const hay = option.dataset.search;
        const show = words.every(function (w) { return hay.indexOf(w) >= 0; });
        option.hidden = !show;
        option.disabled = !show;
        if (show && first === null) first = option;
      });
      select.querySelectorAll("optgroup").forEach(function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      if (!select.multiple && first && words.length) select.value = first.value;
    });
  });

  // One action form open at a time (browsers without <details name> support too).
  const panels = document.querySelectorAll("details[name=act]");
  panels.forEach(function (panel) {
    panel.addEventListener("toggle", function () {
      if (!panel.open) return;
      panels.forEach(function (other) { if (other !== panel) other.open = false; });
    });
  });

  // Inbox: how many items are chosen; the batch form shows the fields of its action.
  const bulk = document.getElementById("bulk");
  if (bulk) {
    const counter = document.getElementById("bulk-count");
    const boxes = document.querySelectorAll("input[form=bulk][name=task_id]");
    const update = function () {
      const n = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      counter.textContent = n ? counter.dataset.template.replace("{n}", n) : "";
      if (n) document.getElementById("bulk-panel").open = true;
    };
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    update();
    const op = document.getElementById("bulk-op");
    const send = bulk.querySelector(".bulk-send");
    const file = bulk.querySelector(".bulk-file");
    const show = function () {
      const filing = op.value === "put_in_file";
      if (send) send.hidden = filing;
      if (file) file.hidden = !filing;
    };
    op.addEventListener("change", show);
    show();
  }
})();
