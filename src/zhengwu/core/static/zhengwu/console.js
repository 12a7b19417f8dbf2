/* Behaviour of the staff console, loaded from the platform's own static files.
 *
 * The Content-Security-Policy allows scripts only from 'self' (no inline script, no inline
 * event handlers, no style attributes), so pages declare behaviour with data-* attributes:
 *   form[data-confirm]          ask before submitting
 *   [data-width]                set a bar's width (percent) — progress bars
 *   [data-colour]               set a swatch's colour
 *   [data-batch-poll]           poll a batch's JSON and update its progress bar, reload when done
 *   form[data-rule-form]        show only the parameter group of the chosen rule kind
 *   [data-copy-target]          button that copies the text of the element with that id
 *   input[data-division-search] suggest division codes from data-division-url
 *   button[data-nav-toggle]     open/close the main menu (the element with that id) on a phone
 *   [data-expand]               a clipped long value (|clip, |clamp): a tap, Enter or Space shows all
 *                               of it and another hides it again (class "open", aria-expanded)
 */
(function () {
  "use strict";

  function each(selector, fn, root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
  }

  function applyStyles(root) {
    each("[data-width]", function (el) {
      var w = parseFloat(el.getAttribute("data-width"));
      if (!isNaN(w)) { el.style.width = Math.max(0, Math.min(100, w)) + "%"; }
    }, root);
    each("[data-colour]", function (el) {
      var c = el.getAttribute("data-colour");
      if (/^#[0-9a-fA-F]{3,8}$/.test(c)) { el.style.background = c; }
    }, root);
  }

  function confirmForms() {
    each("form[data-confirm]", function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  function batchPoll() {
    each("[data-batch-poll]", function (bar) {
      var url = bar.getAttribute("data-batch-poll");
      var stage = document.getElementById(bar.getAttribute("data-stage") || "batch-stage");
      function reload() { window.location.reload(); }
      function tick() {
        fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
          .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
          .then(function (d) {
            if (d.status !== "pending" && d.status !== "running") { reload(); return; }
            if (typeof d.progress === "number" && bar.firstElementChild) {
              bar.firstElementChild.style.width = d.progress + "%";
              bar.setAttribute("aria-valuenow", d.progress);
            }
            if (d.stage_label && stage) { stage.textContent = d.stage_label; }
            setTimeout(tick, 2000);
          })
          .catch(function () { setTimeout(reload, 2000); });
      }
      setTimeout(tick, 2000);
    });
  }

  function ruleForms() {
    each("form[data-rule-form]", function (form) {
      var kind = form.querySelector("select[name=kind]");
      if (!kind) { return; }
      function show() {
        each(".rule-params", function (group) {
          group.hidden = group.getAttribute("data-kind") !== kind.value;
        }, form);
      }
      kind.addEventListener("change", show);
      show();
    });
  }

  function copyButtons() {
    each("[data-copy-target]", function (button) {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      var note = document.getElementById(button.getAttribute("data-copy-note") || "");
      function say(text) { if (note) { note.textContent = text; } }
      button.addEventListener("click", function () {
        if (!target) { return; }
        var text = target.textContent;
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () { say("已复制到剪贴板。"); },
            function () { say("无法自动复制，请选中上面的文字手动复制。"); });
        } else {
          var range = document.createRange();
          range.selectNodeContents(target);
          var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
          say(document.execCommand && document.execCommand("copy") ? "已复制到剪贴板。" : "已选中，请按 Ctrl+C 复制。");
        }
      });
    });
  }

  function divisionSearch() {
    each("input[data-division-search]", function (input) {
      var url = input.getAttribute("data-division-url");
      var list = document.getElementById(input.getAttribute("list") || "division-options");
      if (!url || !list) { return; }
      var timer = null;
      input.addEventListener("input", function () {
        clearTimeout(timer);
        var q = input.value.trim();
        if (!q) { return; }
        timer = setTimeout(function () {
          fetch(url + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
            .then(function (r) { return r.ok ? r.json() : {results: []}; })
            .then(function (data) {
              list.textContent = "";
              data.results.forEach(function (d) {
                var opt = document.createElement("option");
                opt.value = d.code;
                opt.textContent = d.full_name + "（" + d.level + "）";
                list.appendChild(opt);
              });
            });
        }, 200);
      });
    });
  }

  function expanders() {
    // One listener for the page, so rows added later (pagers, polling) work too.
    function toggle(el) {
      var open = !el.classList.contains("open");
      el.classList.toggle("open", open);
      el.setAttribute("aria-expanded", open ? "true" : "false");
    }
    document.addEventListener("click", function (event) {
      var el = event.target.closest ? event.target.closest("[data-expand]") : null;
      if (el && !(window.getSelection && String(window.getSelection()).length)) { toggle(el); }
    });
    document.addEventListener("keydown", function (event) {
      var el = event.target;
      if (el && el.hasAttribute && el.hasAttribute("data-expand") && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        toggle(el);
      }
    });
  }

  function navToggle() {
    document.documentElement.classList.add("js");
    each("[data-nav-toggle]", function (button) {
      var nav = document.getElementById(button.getAttribute("data-nav-toggle"));
      if (!nav) { return; }
      button.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        button.setAttribute("aria-expanded", open ? "true" : "false");
      });
    });
  }

  function start() {
    navToggle();
    applyStyles(document);
    confirmForms();
    batchPoll();
    ruleForms();
    copyButtons();
    divisionSearch();
    expanders();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
