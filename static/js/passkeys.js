// Passkeys (WebAuthn Level 3): add one on the security page, sign in with one (the button,
// or the email field's autofill: "conditional mediation"), or use one as a second factor.
//
// Each element with data-passkeys="register|sign-in|second-factor" names its two endpoints
// (data-options-url, data-verify-url) and carries the CSRF token (data-csrf). The server
// answers {"redirect": url} on success and {"error", "message"} otherwise. Elements stay
// hidden unless this browser has WebAuthn; nothing here runs inline (CSP: script-src 'self').
(() => {
  "use strict";

  const unsupported = document.querySelectorAll("[data-passkeys-unsupported]");
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  unsupported.forEach((element) => { element.hidden = true; });

  // base64url without padding (RFC 4648 §5), for browsers without the JSON helpers.
  function encode(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decode(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
  }

  function withIds(list) {
    return (list || []).map((c) => ({ ...c, id: decode(c.id) }));
  }

  // WebAuthn L3 §5.1.9 and §5.1.10: parse...FromJSON where the browser has them.
  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: decode(json.challenge),
      user: { ...json.user, id: decode(json.user.id) },
      excludeCredentials: withIds(json.excludeCredentials),
    };
  }

  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return { ...json, challenge: decode(json.challenge), allowCredentials: withIds(json.allowCredentials) };
  }

  // WebAuthn L3 §5.1.8: credential.toJSON(), or the same shape built by hand.
  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      try { return credential.toJSON(); } catch (_) { /* build it below */ }
    }
    const r = credential.response;
    const json = {
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: encode(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      json.response.attestationObject = encode(r.attestationObject);
      json.response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      json.response.authenticatorData = encode(r.authenticatorData);
      json.response.signature = encode(r.signature);
      json.response.userHandle = r.userHandle ? encode(r.userHandle) : null;
    }
    return json;
  }

  class ServerError extends Error {
    constructor(message, redirect) {
      super(message);
      this.redirect = redirect;
    }
  }

  async function post(root, url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": root.dataset.csrf,
      },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (_) { /* not JSON: a proxy's error page */ }
    if (!response.ok) {
      throw new ServerError(data.message || "Something went wrong. Please try again.", data.redirect);
    }
    return data;
  }

  // What to tell the person when the browser or authenticator says no (WebAuthn L3 §5.1.3, §5.1.4).
  function explain(error, registering) {
    if (error instanceof ServerError) return error.message;
    if (error && error.name === "InvalidStateError" && registering) {
      return "This device already has a passkey for your account.";
    }
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Please try again.";
    }
    if (error && error.name === "SecurityError") {
      return "Passkeys can't be used on this address of the site.";
    }
    return "Your passkey could not be used. Please try again, or sign in another way.";
  }

  function setUp(root) {
    if (root.dataset.passkeysReady) return;
    root.dataset.passkeysReady = "true";
    root.hidden = false;
    const button = root.querySelector("[data-passkeys-start]");
    const status = root.querySelector("[data-passkeys-status]");
    const kind = root.dataset.passkeys;
    let autofill = null; // the AbortController of the pending conditional request
    let autofillAvailable = false;

    function say(message, isError) {
      status.textContent = message;
      status.classList.toggle("error", Boolean(isError));
    }

    async function register() {
      const nameInput = root.querySelector("[data-passkeys-name]");
      const name = nameInput ? nameInput.value : "";
      const options = await post(root, root.dataset.optionsUrl, { name });
      say("Follow your browser's steps to create the passkey…");
      const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
      say("Checking the new passkey…");
      return post(root, root.dataset.verifyUrl, { credential: credentialJSON(credential), name });
    }

    async function authenticate(mediation, signal) {
      const options = await post(root, root.dataset.optionsUrl, { mediation });
      if (signal && signal.aborted) return null;
      const request = { publicKey: requestOptions(options) };
      if (mediation) request.mediation = mediation;
      if (signal) request.signal = signal;
      if (mediation === "conditional") root.dataset.passkeysAutofill = "pending";
      const credential = await navigator.credentials.get(request);
      if (!credential) return null;
      say("Signing you in…");
      try {
        return await post(root, root.dataset.verifyUrl, {
          credential: credentialJSON(credential),
          next: root.dataset.next || "",
          mediation,
        });
      } catch (error) {
        error.afterPick = true;
        throw error;
      }
    }

    function finish(result) {
      if (result && result.redirect) window.location.assign(result.redirect);
    }

    function fail(error, registering) {
      if (error && error.name === "AbortError") return;
      if (error instanceof ServerError && error.redirect) {
        window.location.assign(error.redirect);
        return;
      }
      say(explain(error, registering), true);
    }

    function startAutofill() {
      autofill = new AbortController();
      const signal = autofill.signal;
      authenticate("conditional", signal)
        .then(finish)
        // Quiet unless the person picked a passkey: they did not ask for this request.
        .catch((error) => { if (!signal.aborted && error.afterPick) fail(error, false); })
        .finally(() => { if (root.dataset.passkeysAutofill === "pending") delete root.dataset.passkeysAutofill; });
    }

    button.addEventListener("click", () => {
      if (autofill) autofill.abort(); // only one WebAuthn request at a time
      autofill = null;
      button.disabled = true;
      say(kind === "register" ? "Preparing…" : "Waiting for your passkey…");
      const ceremony = kind === "register" ? register() : authenticate(undefined, null);
      ceremony
        .then(finish)
        .catch((error) => {
          fail(error, kind === "register");
          if (autofillAvailable && !autofill) startAutofill(); // the field offers passkeys again
        })
        .finally(() => { button.disabled = false; });
    });

    // The email field says autocomplete="username webauthn": offer passkeys in its autofill.
    const field = document.querySelector('input[autocomplete~="webauthn"]');
    const canAutofill = typeof PublicKeyCredential.isConditionalMediationAvailable === "function";
    if (kind === "sign-in" && field && canAutofill) {
      PublicKeyCredential.isConditionalMediationAvailable()
        .then((available) => {
          autofillAvailable = available;
          if (available && !autofill) startAutofill();
        })
        .catch(() => { /* no autofill: the button still works */ });
    }
  }

  function start() {
    document.querySelectorAll("[data-passkeys]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
