// Follows a loan's progress panel until it is complete: every 2 seconds the panel is fetched
// again from the desk (same origin, the session's cookie) and put in place. No other script.
(function () {
  "use strict";
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
        if (!answer.ok) { throw new Error(answer.status); }
        return answer.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-complete]");
        if (fresh) { panel.replaceChildren(document.importNode(fresh, true)); }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
}());
