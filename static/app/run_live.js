// Live run view: the server pushes the run's step list over a websocket whenever it changes.
(function () {
  const box = document.querySelector("[data-run-socket]");
  if (!box || !("WebSocket" in window)) return;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  let retries = 0;
  function connect() {
    const socket = new WebSocket(scheme + location.host + box.dataset.runSocket);
    socket.onmessage = function (event) {
      retries = 0;
      const open = Array.from(box.querySelectorAll("details[open] > summary")).map((s) => s.parentElement.closest(".step-item, .run-payload")?.querySelector("strong")?.textContent + "|" + s.textContent);
      box.innerHTML = event.data;
      box.querySelectorAll("details > summary").forEach(function (summary) {
        const key = summary.parentElement.closest(".step-item, .run-payload")?.querySelector("strong")?.textContent + "|" + summary.textContent;
        if (open.includes(key)) summary.parentElement.open = true;
      });
      if (window.htmx) window.htmx.process(box);
    };
    socket.onclose = function (event) {
      if (event.code === 4000 || retries > 5) return; // finished run, or gave up
      retries += 1;
      setTimeout(connect, 1000 * retries);
    };
  }
  connect();
})();
