// Live pages (SPEC section 8, "live"; docs/live.md): one websocket per page, opened from the
// body's `data-live-socket`. The server pushes events; this applies them to what the page
// shows (the bell, the forms inbox, a run view, a record's "Workflow runs" card), never by
// polling.
(function () {
  "use strict";
  const address = document.body && document.body.dataset.liveSocket;
  if (!address || !("WebSocket" in window)) return;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const handlers = {};
  let retries = 0;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (error) { return ""; }
  }

  function fragment(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.firstElementChild;
  }

  function fetchHtml(url, whole) {
    const headers = whole ? {} : { "HX-Request": "true" };
    return fetch(url, { headers, credentials: "same-origin" })
      .then((r) => (r.ok ? r.text() : null));
  }

  // --- the bell ----------------------------------------------------------------------------
  const bell = document.querySelector("[data-bell]");

  function bellCount() {
    if (!bell) return;
    const forms = bell.querySelectorAll("[data-bell-form-id]").length;
    const count = Number(bell.dataset.unread || 0) + forms;
    const badge = bell.querySelector("[data-bell-count]");
    badge.textContent = count;
    badge.hidden = count === 0;
    bell.querySelector("[data-bell-toggle]").setAttribute("aria-label", `Notifications (${count} unread)`);
    const empty = bell.querySelector("[data-bell-empty]");
    empty.hidden = bell.querySelectorAll("[data-notification-id], [data-bell-form-id]").length > 0;
  }

  function markRead(id) {
    const url = id ? `/api/v1/notifications/${id}/read/` : "/api/v1/notifications/read-all/";
    return fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
  }

  function showRead(ids, unread) {
    ids.forEach((id) => {
      const item = bell.querySelector(`[data-notification-id="${CSS.escape(id)}"]`);
      if (!item) return;
      item.classList.remove("is-unread");
      const button = item.querySelector("[data-bell-read]");
      if (button) button.remove();
    });
    bell.dataset.unread = unread;
    bellCount();
  }

  // "Dec 3, 2026, 14:05" in the browser's zone, as crm/formats/en/formats.py writes it.
  const EXACT = new Intl.DateTimeFormat("en-US", {
    month: "short", day: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  function exactMoment(moment) {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return `${EXACT.format(moment)}${zone ? ` (${zone})` : ""}`;
  }

  function notificationItem(message) {
    const item = document.createElement("li");
    item.className = "bell-item" + (message.read ? "" : " is-unread");
    item.dataset.notificationId = message.id;
    const link = document.createElement("a");
    link.className = "bell-link";
    if (message.link) link.href = message.link;
    const title = document.createElement("strong");
    title.textContent = message.title;
    link.appendChild(title);
    if (message.message) {
      const text = document.createElement("span");
      text.className = "bell-message";
      text.textContent = message.message;
      link.appendChild(text);
    }
    // The same <time> the server renders (crm/display.py moment_html): exact moment on hover.
    const when = document.createElement("time");
    const moment = message.created_at ? new Date(message.created_at) : new Date();
    when.className = "muted small";
    when.dateTime = moment.toISOString();
    when.title = exactMoment(moment);
    when.textContent = "just now";
    link.appendChild(when);
    item.appendChild(link);
    if (!message.read) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-ghost btn-sm";
      button.dataset.bellRead = "";
      button.textContent = "Mark read";
      item.appendChild(button);
    }
    return item;
  }

  if (bell) {
    const toggle = bell.querySelector("[data-bell-toggle]");
    const panel = bell.querySelector(".bell-panel");
    toggle.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
    });
    document.addEventListener("click", (event) => {
      if (!panel.hidden && !bell.contains(event.target)) {
        panel.hidden = true;
        toggle.setAttribute("aria-expanded", "false");
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !panel.hidden) { panel.hidden = true; toggle.focus(); }
    });
    bell.addEventListener("click", (event) => {
      const item = event.target.closest("[data-notification-id]");
      if (event.target.closest("[data-bell-read-all]")) {
        markRead(null).then((r) => (r.ok ? r.json() : null)).then((body) => {
          if (body) showRead(Array.from(bell.querySelectorAll(".is-unread")).map((el) => el.dataset.notificationId), body.unread);
        });
      } else if (item && event.target.closest("[data-bell-read]")) {
        markRead(item.dataset.notificationId).then((r) => {
          if (r.ok) showRead([item.dataset.notificationId], Math.max(0, Number(bell.dataset.unread) - 1));
        });
      } else if (item && item.classList.contains("is-unread") && event.target.closest("a[href]")) {
        markRead(item.dataset.notificationId); // keepalive: the page may be leaving
      }
    });
  }

  handlers["notification"] = function (message) {
    if (!bell || bell.querySelector(`[data-notification-id="${CSS.escape(message.id)}"]`)) return;
    bell.querySelector("[data-bell-list]").prepend(notificationItem(message));
    bell.dataset.unread = message.unread;
    bellCount();
  };

  handlers["notification.read"] = function (message) {
    if (bell) showRead(message.ids, message.unread);
  };

  function bellForm(message, present) {
    if (!bell) return;
    const current = bell.querySelector(`[data-bell-form-id="${CSS.escape(message.form)}"]`);
    if (present && !current) {
      const item = document.createElement("li");
      item.dataset.bellFormId = message.form;
      const link = document.createElement("a");
      link.href = `/forms/#form-${message.form}`;
      const kind = document.createElement("span");
      kind.className = "bell-kind";
      kind.textContent = "Form";
      const title = document.createElement("span");
      title.textContent = message.title;
      link.append(kind, " ", title);
      item.appendChild(link);
      bell.querySelector("[data-bell-forms]").prepend(item);
    } else if (!present && current) {
      current.remove();
    }
    bellCount();
  }

  // --- the forms inbox ---------------------------------------------------------------------
  const inbox = document.querySelector("[data-form-inbox]");

  function inboxCount() {
    const pill = document.querySelector("[data-form-count]");
    const count = inbox.querySelectorAll("form[data-form-id]").length;
    if (pill) pill.textContent = count;
    const empty = inbox.querySelector("[data-form-empty]");
    if (empty) empty.hidden = count > 0;
  }

  handlers["form.created"] = function (message) {
    bellForm(message, true);
    if (!inbox || document.getElementById(`form-${message.form}`)) return;
    fetchHtml(`/forms/${message.form}/card/`).then((html) => {
      if (html === null || document.getElementById(`form-${message.form}`)) return;
      const card = fragment(html);
      inbox.prepend(card);
      if (window.htmx) window.htmx.process(card);
      inboxCount();
    });
  };

  handlers["form.closed"] = function (message) {
    bellForm(message, false);
    if (!inbox) return;
    const card = document.getElementById(`form-${message.form}`);
    if (card) card.remove();
    inboxCount();
  };

  // A record field's searchable picker: the records API's `search`, ids as the values.
  let pickerTimer = null;
  document.addEventListener("input", (event) => {
    const input = event.target.closest && event.target.closest("[data-record-picker]");
    if (!input) return;
    clearTimeout(pickerTimer);
    pickerTimer = setTimeout(() => {
      const url = `${input.dataset.recordPicker}?page_size=10&search=${encodeURIComponent(input.value)}`;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : null))
        .then((body) => {
          const list = document.getElementById(input.getAttribute("list"));
          if (!body || !list) return;
          list.replaceChildren(...body.results.map((record) => {
            const option = document.createElement("option");
            option.value = record.id;
            option.label = record.name || record.title ||
              [record.first_name, record.last_name].filter(Boolean).join(" ") || record.email || record.id;
            return option;
          }));
        });
    }, 200);
  });

  // --- a run view --------------------------------------------------------------------------
  const runBox = document.querySelector("[data-run-socket]");

  function refreshRun() {
    // One fetch of the run's fragment: after a reconnect (events may have been missed).
    fetchHtml(location.pathname).then((html) => {
      if (html !== null) { runBox.innerHTML = html; if (window.htmx) window.htmx.process(runBox); }
    });
  }

  function applyStepRow(message) {
    const list = runBox && runBox.querySelector("[data-step-list]");
    if (!list || !message.html) return;
    const selector = `li[data-step-id="${CSS.escape(message.step_id)}"][data-scope="${CSS.escape(message.scope)}"]`;
    const current = list.querySelector(selector);
    const fresh = fragment(message.html);
    const empty = list.querySelector("[data-step-empty]");
    if (empty) empty.remove();
    if (current) {
      // Keep open what the reader opened.
      current.querySelectorAll("details[open] > summary").forEach((s) => {
        const same = Array.from(fresh.querySelectorAll("details > summary")).find((f) => f.textContent === s.textContent);
        if (same) same.parentElement.open = true;
      });
      current.replaceWith(fresh);
    } else {
      list.appendChild(fresh);
    }
  }

  handlers["step"] = function (message) {
    applyStepRow(message);
    // The run view's canvas (run_canvas.js) takes the event itself: it also knows iterations.
    const event = new CustomEvent("live:step", { detail: message, cancelable: true });
    if (!document.dispatchEvent(event)) return;
    // Canvas cards (any element but the step list's rows) carry the step's status; only
    // the attribute changes, so the card keeps its place, focus and selection.
    document.querySelectorAll(`[data-step-id="${CSS.escape(message.step_id)}"]`).forEach((el) => {
      if (el.tagName === "LI" && el.closest("[data-step-list]")) return;
      if (el.dataset.status !== message.status) el.dataset.status = message.status;
    });
  };

  function applyRunView(message) {
    if (!runBox) return;
    runBox.querySelectorAll("[data-run-status]").forEach((el) => { el.innerHTML = message.badge; });
    const waiting = runBox.querySelector("[data-waiting-for]");
    if (waiting) {
      waiting.hidden = !(message.status === "waiting" && message.waiting_for);
      const text = waiting.querySelector("span");
      if (text) text.textContent = message.waiting_for;
    }
    if (message.finished) refreshRunParts();
  }

  // A finished run: only its actions (Cancel, Retry), times and error change; the canvas and
  // the step list stay as they are (their events already came).
  const RUN_PARTS = [".page-actions", ".run-meta", ".alert-error"];
  function refreshRunParts() {
    fetchHtml(location.pathname).then((html) => {
      if (html === null) return;
      const holder = document.createElement("template");
      holder.innerHTML = html;
      RUN_PARTS.forEach((selector) => {
        const fresh = holder.content.querySelector(selector);
        const current = runBox.querySelector(selector);
        if (fresh && current) current.replaceWith(fresh);
        else if (current) current.remove();
        else if (fresh && selector === ".alert-error") {
          const waiting = runBox.querySelector("[data-waiting-for]");
          if (waiting) waiting.after(fresh);
        } else if (fresh && selector === ".page-actions") {
          const header = runBox.querySelector(".page-header");
          if (header) header.appendChild(fresh);
        }
      });
    });
  }

  // --- a record page: its "Workflow runs" card and what the runs wrote -------------------
  const recordRuns = document.querySelector("[data-record-runs]");

  function applyRecordRun(message) {
    if (!recordRuns) return;
    const row = recordRuns.querySelector(`[data-run-id="${CSS.escape(message.run)}"]`);
    if (row) {
      const badge = row.querySelector("[data-run-badge]");
      if (badge) badge.innerHTML = message.badge;
    }
    // A run the card does not show yet, or one that finished (its writes, such as the task
    // it created, are on the page's other cards): one fetch of the page's live fragments.
    if (!row || message.finished) refreshRecord();
  }

  let recordTimer = null;
  function refreshRecord() {
    clearTimeout(recordTimer);
    recordTimer = setTimeout(() => {
      fetchHtml(recordRuns.dataset.recordRuns, true).then((html) => {
        if (html === null) return;
        const holder = document.createElement("template");
        holder.innerHTML = html;
        holder.content.querySelectorAll("[data-live-fragment]").forEach((fresh) => {
          const current = document.querySelector(`[data-live-fragment="${CSS.escape(fresh.dataset.liveFragment)}"]`);
          if (current) { current.replaceWith(fresh); if (window.htmx) window.htmx.process(fresh); }
        });
      });
    }, 100);
  }

  handlers["run"] = function (message) {
    applyRunView(message);
    applyRecordRun(message);
  };

  // --- the socket ----------------------------------------------------------------------------
  function connect() {
    const socket = new WebSocket(scheme + location.host + address);
    socket.onmessage = function (event) {
      const message = JSON.parse(event.data);
      if (message.type === "ready") {
        if (retries > 0) { if (runBox) refreshRun(); if (recordRuns) refreshRecord(); }
        retries = 0;
        document.body.dataset.liveReady = "true";
        return;
      }
      // A batch carries what one commit window changed, in order: one frame, many messages.
      const messages = message.type === "batch" ? message.events : [message];
      messages.forEach((item) => {
        const handler = handlers[item.type];
        if (handler) handler(item);
      });
    };
    socket.onclose = function (event) {
      delete document.body.dataset.liveReady;
      if (event.code === 4401 || event.code === 4404 || retries > 8) return;
      retries += 1;
      setTimeout(connect, Math.min(1000 * retries, 10000));
    };
  }
  connect();
})();
