// actionsync console: progressive enhancement only. Every page works without it.
"use strict";
(function () {
  // Filters apply as soon as a select or checkbox changes.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { if (el.form) el.form.requestSubmit(); });
  });

  // Active search: typing refreshes the results in place (the URL follows).
  document.querySelectorAll("input[data-live]").forEach(function (input) {
    var target = document.getElementById(input.getAttribute("data-live"));
    if (!target || !input.form) return;
    var timer = null, seq = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var form = input.form;
        var params = new URLSearchParams(new FormData(form));
        var url = form.getAttribute("action") + "?" + params.toString();
        var mine = ++seq;
        fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) {
            if (mine !== seq) return;
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById(target.id);
            if (fresh) { target.replaceWith(fresh); target = fresh; history.replaceState(null, "", url); }
          })
          .catch(function () { /* the Filter button still works */ });
      }, 250);
    });
  });

  // A spec file read into the textarea, so it is planned like a pasted one.
  document.querySelectorAll("input[type=file][data-into]").forEach(function (input) {
    var into = document.getElementById(input.getAttribute("data-into"));
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file || !into) return;
      file.text().then(function (text) { into.value = text; });
    });
  });
})();
