// Confirmation before a one-click action: a native <dialog> (keyboard and screen-reader
// friendly). Without JavaScript the server shows a confirmation page instead.
(function () {
  "use strict";
  const dialog = document.getElementById("confirm-dialog");
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      const confirmed = form.querySelector("input[name=confirmed]");
      if (!dialog || typeof dialog.showModal !== "function") return;
      if (confirmed.value === "1") return;
      event.preventDefault();
      const select = form.querySelector("select[name=to]");
      let message = form.dataset.confirm;
      if (select && select.selectedIndex > 0) {
        message += " → " + select.options[select.selectedIndex].text;
      }
      document.getElementById("confirm-message").textContent = message;
      dialog.returnValue = "";
      dialog.showModal();
      document.getElementById("confirm-ok").focus();
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        if (dialog.returnValue === "ok") {
          confirmed.value = "1";
          form.submit();
        }
      });
    });
  });
})();
