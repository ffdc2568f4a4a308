// Passkeys (WebAuthn): registering one under My settings, and signing an approval with
// it. An approve form with data-passkey asks the server for a challenge that commits to
// the file (or draft), the action and its content hash, has the browser sign it, puts the
// assertion in the form's hidden "passkey" field and submits the form as usual (the
// confirmation dialog of app.js follows). Without a registered passkey the form goes as
// it is: the server decides whether its own key may sign instead.
(function () {
  "use strict";

  function b64(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unb64(text) {
    let s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); });
  }

  function csrf(scope) {
    const input = scope.querySelector("input[name=csrf_token]") ||
      document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  async function post(url, token, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      throw new Error((data.error && data.error.message) || response.statusText);
    }
    return data;
  }

  // What the browser's WebAuthn errors mean to an officer, in the page's language
  // (base.html #passkey-messages); a server's message is already in words.
  function browserMessage(error) {
    const box = document.getElementById("passkey-messages");
    const texts = box ? box.dataset : {};
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "AbortError") return texts.cancelled;
    if (name === "SecurityError") return texts.insecure;
    if (name === "InvalidStateError") return texts.duplicate;
    if (error instanceof DOMException) return texts.failed;
    return (error && error.message) || String(error);
  }

  function showError(scope, message) {
    const box = scope.querySelector(".passkey-error");
    if (box) {  // styled as a flash message only when there is something to say
      box.textContent = message;
      box.classList.add("flash", "error");
      box.hidden = false;
    }
  }

  function ids(list) {
    (list || []).forEach(function (c) { c.id = unb64(c.id); });
  }

  // ---------------------------------------------------------------- registering

  const register = document.getElementById("passkey-register");
  if (register) {
    document.getElementById("passkey-add").addEventListener("click", async function () {
      if (!window.PublicKeyCredential || !navigator.credentials) {
        showError(register, register.dataset.unsupported);
        return;
      }
      try {
        const token = csrf(register);
        const options = await post(register.dataset.options, token);
        const pk = options.publicKey;
        pk.challenge = unb64(pk.challenge);
        pk.user.id = unb64(pk.user.id);
        ids(pk.excludeCredentials);
        const made = await navigator.credentials.create({ publicKey: pk });
        await post(register.dataset.register, token, {
          nonce: options.nonce,
          name: document.getElementById("passkey-name").value,
          credential: {
            id: made.id, rawId: b64(made.rawId), type: made.type,
            response: {
              clientDataJSON: b64(made.response.clientDataJSON),
              attestationObject: b64(made.response.attestationObject),
              transports: made.response.getTransports ? made.response.getTransports() : [],
            },
            clientExtensionResults: made.getClientExtensionResults(),
            authenticatorAttachment: made.authenticatorAttachment,
          },
        });
        window.location.reload();
      } catch (error) {
        showError(register, browserMessage(error));
      }
    });
  }

  // ---------------------------------------------------------------- approving

  document.addEventListener("submit", async function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.passkey) return;
    if (form.dataset.passkeyDone === "1") return;  // signed: on to the confirmation
    event.preventDefault();
    event.stopImmediatePropagation();
    try {
      const options = await post(form.dataset.passkey, csrf(form));
      if (options.passkeys > 0 && window.PublicKeyCredential) {
        const pk = options.publicKey;
        pk.challenge = unb64(pk.challenge);
        ids(pk.allowCredentials);
        const signed = await navigator.credentials.get({ publicKey: pk });
        form.querySelector("input[name=passkey]").value = JSON.stringify({
          nonce: options.nonce,
          credential: {
            id: signed.id, rawId: b64(signed.rawId), type: signed.type,
            response: {
              authenticatorData: b64(signed.response.authenticatorData),
              clientDataJSON: b64(signed.response.clientDataJSON),
              signature: b64(signed.response.signature),
              userHandle: signed.response.userHandle ? b64(signed.response.userHandle) : null,
            },
            clientExtensionResults: signed.getClientExtensionResults(),
            authenticatorAttachment: signed.authenticatorAttachment,
          },
        });
      }
    } catch (error) {
      showError(form, browserMessage(error));
      return;
    }
    form.dataset.passkeyDone = "1";
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }, true);
})();
