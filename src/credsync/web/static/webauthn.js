// credsync dashboard: security keys and passkeys (WebAuthn), on the pages that have them.
// A form with data-webauthn="create" (add a key) or "get" (sign in) carries the server's
// options (JSON, base64url) in data-options; on submit the browser's key answers them and the
// answer goes with the form, as JSON in its "credential" field, beside the form's CSRF token.
// Without WebAuthn (an insecure page: WebAuthn needs https, or http://localhost) the sign-in
// form stays hidden and a note says why; the code form works without this script. A form with
// a [data-webauthn-button] runs the key only from that button (hidden until this script runs).
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-webauthn]");
  if (!forms.length) { return; }
  var status = document.querySelector("[data-webauthn-status]");

  function say(text) {
    if (!status) { return; }
    status.textContent = text;
    status.hidden = false;
  }
  function toBuffer(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function keyIds(list) {
    (list || []).forEach(function (c) { c.id = toBuffer(c.id); });
  }
  function creation(options) {
    options.challenge = toBuffer(options.challenge);
    options.user.id = toBuffer(options.user.id);
    keyIds(options.excludeCredentials);
    return options;
  }
  function request(options) {
    options.challenge = toBuffer(options.challenge);
    keyIds(options.allowCredentials);
    return options;
  }
  function asJson(credential) {
    var r = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults
        ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return JSON.stringify(out);
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    say("This browser can't use security keys on this page (WebAuthn needs https, or " +
        "http://localhost).");
    return;
  }
  forms.forEach(function (form) {
    form.hidden = false;
    var field = form.querySelector("input[name='credential']");
    // A form that asks for other things too (the portal's password pages) has a button of its
    // own for the key: only that one runs the ceremony; its other buttons post as they are.
    var button = form.querySelector("[data-webauthn-button]");
    if (button) { button.hidden = false; }
    var busy = false;
    form.addEventListener("submit", function (event) {
      if (button && event.submitter !== button) {
        if (field) { field.value = ""; }
        return;
      }
      event.preventDefault();
      if (busy || !field) { return; }
      busy = true;
      var options = JSON.parse(form.getAttribute("data-options"));
      var asked = form.getAttribute("data-webauthn") === "create"
        ? navigator.credentials.create({ publicKey: creation(options) })
        : navigator.credentials.get({ publicKey: request(options) });
      say("Touch your security key, or confirm the passkey, when your browser asks.");
      asked.then(function (credential) {
        if (!credential) { throw new Error("no key"); }
        field.value = asJson(credential);
        form.submit();
      }).catch(function (err) {
        busy = false;
        say("Your security key did not answer (" + (err && err.name ? err.name : "error") +
            "): try again" + (form.getAttribute("data-webauthn") === "get"
              ? ", or use a code." : "."));
      });
    });
  });
})();
