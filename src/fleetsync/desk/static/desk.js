// The desk's one script (no inline script anywhere: the CSP forbids it).
// 1. A loan's progress panel (#progress[data-poll]) is fetched again every 2 seconds, from the
//    desk itself with the session's cookie, until it says it is complete.
// 2. Buttons marked data-print open the browser's print dialogue (the slip).
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  var panel = document.getElementById("progress");
  if (!panel || !panel.dataset.poll) { return; }
  var url = panel.dataset.poll;
  function complete() {
    var inner = panel.querySelector("[data-complete]");
    return inner && inner.dataset.complete === "true";
  }
  function poll() {
    if (complete()) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (!answer.ok) { throw new Error(String(answer.status)); }
        return answer.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-complete]");
        if (fresh) { panel.replaceChildren(document.importNode(fresh, true)); }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
}());
