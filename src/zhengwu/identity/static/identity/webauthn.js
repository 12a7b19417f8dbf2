/* WebAuthn ceremonies for the login and 账号与安全 pages (security keys, platform authenticators).
 *
 * Behaviour hangs on data-* attributes (the Content-Security-Policy forbids inline script):
 *   form[data-webauthn="get"|"create"]  on submit: POST to data-options-url (CSRF header) for
 *       fresh options with a single-use challenge, run navigator.credentials.get()/create(),
 *       put the result as JSON into input[data-webauthn-credential] and submit the form; the
 *       server verifies it and answers with an ordinary page.
 *   [data-webauthn-status]              where the Chinese message goes (cancelled, timeout, …)
 *   input[data-webauthn-name]           (create) must be filled before the key is touched
 *   [data-webauthn-unsupported]         shown (hidden removed) when the browser has no WebAuthn
 */
(function () {
  "use strict";

  var MESSAGES = {
    unsupported: "此浏览器不支持安全密钥（WebAuthn），或当前页面不是通过 HTTPS 打开的。请使用新版 Chrome、Edge、Firefox 或 Safari，或改用动态口令。",
    cancelled: "操作已取消，或所用的安全密钥未在本账号登记。请重试，或改用其他验证方式。",
    cancelledCreate: "操作已取消，未登记安全密钥。需要时请重新点击按钮。",
    timeout: "操作超时：请在提示出现后 90 秒内触摸安全密钥或完成指纹、面容、PIN 验证，然后重试。",
    duplicate: "这个安全密钥已经在本账号登记过，无需重复登记；如要再登记一个，请换一个安全密钥。",
    security: "当前网址与平台配置的安全密钥域名不符，请通过平台的正式地址访问，或联系管理员检查 ZHENGWU_WEBAUTHN_RP_ID 配置。",
    algorithm: "该安全密钥不支持平台要求的签名算法，请换一个安全密钥。",
    network: "无法连接服务器，请检查网络后重试。",
    name: "请先填写名称，再登记安全密钥。",
    failed: "安全密钥操作失败，请重试。",
    waiting: "请按浏览器提示触摸安全密钥，或完成指纹、面容、PIN 验证……"
  };

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials && window.isSecureContext !== false);
  }

  function b64urlToBuffer(value) {
    var b64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var binary = atob(b64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function bufferToB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = {type: d.type, id: b64urlToBuffer(d.id)};
      if (d.transports) { out.transports = d.transports; }
      return out;
    });
  }

  function creationOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = b64urlToBuffer(json.challenge);
    o.user = Object.assign({}, json.user, {id: b64urlToBuffer(json.user.id)});
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = b64urlToBuffer(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  function credentialJSON(cred) {
    var r = cred.response;
    var response = {clientDataJSON: bufferToB64url(r.clientDataJSON)};
    if (r.attestationObject) {
      response.attestationObject = bufferToB64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = bufferToB64url(r.authenticatorData);
      response.signature = bufferToB64url(r.signature);
      if (r.userHandle) { response.userHandle = bufferToB64url(r.userHandle); }
    }
    return JSON.stringify({
      id: cred.id,
      rawId: bufferToB64url(cred.rawId),
      type: cred.type,
      response: response,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: typeof cred.getClientExtensionResults === "function" ? cred.getClientExtensionResults() : {}
    });
  }

  function explain(error, mode, elapsed, timeout) {
    var name = error && error.name;
    if (name === "NotAllowedError") {
      if (timeout && elapsed >= timeout - 1500) { return MESSAGES.timeout; }
      return mode === "create" ? MESSAGES.cancelledCreate : MESSAGES.cancelled;
    }
    if (name === "InvalidStateError") { return MESSAGES.duplicate; }
    if (name === "SecurityError") { return MESSAGES.security; }
    if (name === "NotSupportedError") { return MESSAGES.algorithm; }
    if (name === "AbortError") { return mode === "create" ? MESSAGES.cancelledCreate : MESSAGES.cancelled; }
    if (error && error.zhMessage) { return error.zhMessage; }
    return MESSAGES.failed;
  }

  function setup(form) {
    var mode = form.getAttribute("data-webauthn");
    var status = form.querySelector("[data-webauthn-status]");
    var output = form.querySelector("[data-webauthn-credential]");
    var nameInput = form.querySelector("[data-webauthn-name]");
    var buttons = form.querySelectorAll("button[type=submit]");
    var busy = false;

    function show(text, kind) {
      if (!status) { return; }
      status.textContent = text;
      status.className = "msg " + (kind || "error");
      status.setAttribute("role", kind === "info" ? "status" : "alert");
      status.hidden = !text;
    }
    function setBusy(value) {
      busy = value;
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = value; });
    }

    if (!supported()) {
      show(MESSAGES.unsupported, "error");
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
      Array.prototype.forEach.call(document.querySelectorAll("[data-webauthn-unsupported]"), function (el) {
        el.hidden = false;
      });
      return;
    }

    if (nameInput) {
      nameInput.addEventListener("input", function () {
        if (!busy && status && status.textContent === MESSAGES.name) { show("", "error"); }
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      if (nameInput && !nameInput.value.trim()) {
        show(MESSAGES.name, "error");
        nameInput.focus();
        return;
      }
      var token = form.querySelector("input[name=csrfmiddlewaretoken]");
      var started = 0;
      var timeout = 0;
      setBusy(true);
      show(MESSAGES.waiting, "info");
      fetch(form.getAttribute("data-options-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: {"X-CSRFToken": token ? token.value : "", Accept: "application/json"}
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) {
            var err = new Error("options");
            err.zhMessage = body.detail || MESSAGES.failed;
            err.redirect = body.redirect;
            throw err;
          }
          return body;
        });
      }, function () {
        var err = new Error("network");
        err.zhMessage = MESSAGES.network;
        throw err;
      }).then(function (options) {
        timeout = options.timeout || 0;
        started = Date.now();
        if (mode === "create") {
          return navigator.credentials.create({publicKey: creationOptions(options)});
        }
        return navigator.credentials.get({publicKey: requestOptions(options)});
      }).then(function (cred) {
        if (!cred) { throw new Error("empty"); }
        output.value = credentialJSON(cred);
        form.submit();
      }).catch(function (error) {
        setBusy(false);
        show(explain(error, mode, started ? Date.now() - started : 0, timeout), "error");
        if (error && error.redirect) {
          setTimeout(function () { window.location.assign(error.redirect); }, 2500);
        }
      });
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-webauthn]"), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
