// Live pages (docs in workflows/live): one websocket per page; the server pushes events and
// this applies them by `data-step-id` / `data-run-status`, never by polling.
(function () {
  "use strict";
  const box = document.querySelector("[data-run-socket]");
  if (!box || !("WebSocket" in window)) return;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  let retries = 0;

  function refresh() {
    // One fetch of the run's fragment: after (re)connecting and when the run finishes.
    fetch(location.pathname, { headers: { "HX-Request": "true" } })
      .then((r) => (r.ok ? r.text() : null))
      .then((html) => { if (html !== null) { box.innerHTML = html; if (window.htmx) window.htmx.process(box); } });
  }

  function applyStep(message) {
    const list = box.querySelector("[data-step-list]");
    if (list) {
      const selector = `li[data-step-id="${CSS.escape(message.step_id)}"][data-scope="${CSS.escape(message.scope)}"]`;
      const current = list.querySelector(selector);
      const holder = document.createElement("template");
      holder.innerHTML = message.html.trim();
      const fresh = holder.content.firstElementChild;
      const empty = list.querySelector("[data-step-empty]");
      if (empty) empty.remove();
      if (current) {
        current.querySelectorAll("details[open] > summary").forEach((s) => {
          const same = Array.from(fresh.querySelectorAll("details > summary")).find((f) => f.textContent === s.textContent);
          if (same) same.parentElement.open = true;
        });
        current.replaceWith(fresh);
      } else {
        list.appendChild(fresh);
      }
    }
    // Canvas cards (and anything else) marked with the step id follow the status.
    document.querySelectorAll(`[data-step-id="${CSS.escape(message.step_id)}"][data-status]`).forEach((el) => {
      if (el.tagName !== "LI") el.dataset.status = message.status;
    });
  }

  function applyRun(message) {
    box.querySelectorAll("[data-run-status]").forEach((el) => { el.innerHTML = message.badge; });
    const waiting = box.querySelector("[data-waiting-for]");
    if (waiting) {
      waiting.hidden = !(message.status === "waiting" && message.waiting_for);
      const text = waiting.querySelector("span");
      if (text) text.textContent = message.waiting_for;
    }
    if (message.finished) refresh();
  }

  function connect() {
    const socket = new WebSocket(scheme + location.host + box.dataset.runSocket);
    socket.onmessage = function (event) {
      const message = JSON.parse(event.data);
      if (message.type === "ready") { if (retries > 0) refresh(); retries = 0; }
      else if (message.type === "step") applyStep(message);
      else if (message.type === "run") applyRun(message);
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 4404 || retries > 5) return;
      retries += 1;
      setTimeout(connect, 1000 * retries);
    };
  }
  connect();
})();
