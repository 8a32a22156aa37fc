// The browser's time zone goes to the server in the `tz` cookie, so every page shows times in
// it (crm/timezones.py). Written on every page, the login page included, so the pages after
// logging in are already in the right zone.
(function () {
  "use strict";
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch { return; }
  if (!zone || document.cookie.split("; ").includes("tz=" + encodeURIComponent(zone))) return;
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `tz=${encodeURIComponent(zone)}; path=/; max-age=31536000; SameSite=Lax${secure}`;
})();

// The little behaviour the server-rendered pages need: toasts that go away by themselves and
// the "select all" checkbox of list pages. Everything else is HTMX or plain forms.
(function () {
  "use strict";

  const TOAST_MS = 5000;

  function dismiss(toast) {
    toast.classList.add("is-leaving");
    setTimeout(() => toast.remove(), 200);
  }

  function scheduleToasts(root) {
    root.querySelectorAll(".toast:not([data-scheduled])").forEach((toast) => {
      toast.dataset.scheduled = "1";
      setTimeout(() => dismiss(toast), TOAST_MS);
    });
  }

  // Ticking rows in the table (inside <form id="bulk-actions">) shows the bulk toolbar.
  function refreshSelection(form) {
    if (!form) return;
    const boxes = form.querySelectorAll('input[name="record_ids"]');
    const ticked = form.querySelectorAll('input[name="record_ids"]:checked').length;
    form.classList.toggle("has-selection", ticked > 0);
    form.querySelectorAll("[data-selected-count]").forEach((el) => { el.textContent = ticked; });
    const all = form.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }

  document.addEventListener("click", (event) => {
    const close = event.target.closest(".toast-close");
    if (close) dismiss(close.closest(".toast"));
  });

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("[data-select-all]")) {
      target.form.querySelectorAll('input[name="record_ids"]').forEach((box) => {
        box.checked = target.checked;
      });
    }
    if (target.matches('[data-select-all], input[name="record_ids"]')) {
      refreshSelection(target.form);
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    scheduleToasts(document);
    refreshSelection(document.getElementById("bulk-actions"));
  });

  // Live search and filters leave unused (empty) fields out of the URL they push, so the
  // address bar reads /companies/?q=north rather than ?q=north&industry=&country=.
  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.id !== "list-filters") return;
    const data = event.detail.formData;
    for (const [key, value] of Array.from(data.entries())) {
      if (value === "") data.delete(key);
    }
  });

  // After any HTMX swap: new toasts arrived out of band, or the table was replaced.
  document.addEventListener("htmx:afterSettle", () => {
    scheduleToasts(document);
    refreshSelection(document.getElementById("bulk-actions"));
  });
})();

// The sidebar behind the menu button (below 900 px): open, close on the backdrop or Escape.
(function () {
  "use strict";
  function setNav(open) {
    document.body.classList.toggle("nav-open", open);
    document.querySelectorAll("[data-nav-toggle]").forEach((b) => b.setAttribute("aria-expanded", String(open)));
    const backdrop = document.querySelector(".sidebar-backdrop");
    if (backdrop) backdrop.hidden = !open;
    if (open) {
      const first = document.querySelector("#sidebar .nav-link");
      if (first) first.focus();
    }
  }
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-nav-toggle]")) setNav(!document.body.classList.contains("nav-open"));
    else if (event.target.closest("[data-nav-close]")) setNav(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.classList.contains("nav-open")) setNav(false);
  });
})();

// Find anything: Ctrl/⌘+K opens the search dialog, arrows move through the results, Enter
// opens one. `/` focuses the list page's search box.
(function () {
  "use strict";
  const isTyping = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

  function openSearch() {
    const dialog = document.getElementById("search-dialog");
    if (!dialog) return;
    if (!dialog.open) dialog.showModal();
    const input = dialog.querySelector("[data-search-input]");
    input.focus();
    input.select();
  }

  function moveActive(dialog, step) {
    const results = Array.from(dialog.querySelectorAll(".search-result"));
    if (!results.length) return;
    const current = results.findIndex((el) => el.classList.contains("is-active"));
    const next = (current + step + results.length) % results.length;
    results.forEach((el, i) => el.classList.toggle("is-active", i === next));
    results[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
      event.preventDefault();
      openSearch();
      return;
    }
    const dialog = document.getElementById("search-dialog");
    if (dialog && dialog.open) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        moveActive(dialog, event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Enter") {
        const active = dialog.querySelector(".search-result.is-active") || dialog.querySelector(".search-result");
        if (active) {
          event.preventDefault();
          window.location.href = active.href;
        }
      }
      return;
    }
    if (event.key === "/" && !isTyping(document.activeElement)) {
      const box = document.querySelector('#list-filters input[type="search"], [data-list-search]');
      if (box) {
        event.preventDefault();
        box.focus();
      }
    }
  });

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-search-open]")) openSearch();
    const dialog = event.target.closest("dialog.search-dialog");
    if (dialog && event.target === dialog) dialog.close(); // a click on the backdrop
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "search-results") return;
    const first = event.detail.target.querySelector(".search-result");
    if (first) first.classList.add("is-active");
  });
})();

// Styled confirmation instead of window.confirm(): <form data-confirm="Delete X?"> (with
// optional data-confirm-button="Delete") and HTMX's hx-confirm both ask in #confirm-dialog.
(function () {
  "use strict";
  function ask(message, button, onYes) {
    // base.html always has the dialog; a page without it asks nothing and does nothing.
    const dialog = document.getElementById("confirm-dialog");
    if (!dialog) return;
    dialog.querySelector("[data-confirm-text]").textContent = message;
    dialog.querySelector("[data-confirm-ok]").textContent = button || "Confirm";
    dialog.returnValue = "";
    dialog.addEventListener("close", () => { if (dialog.returnValue === "ok") onYes(); }, { once: true });
    dialog.showModal();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("form[data-confirm]") || form.dataset.confirmed === "yes") return;
    event.preventDefault();
    const submitter = event.submitter;
    ask(form.dataset.confirm, form.dataset.confirmButton, () => {
      form.dataset.confirmed = "yes";
      form.requestSubmit(submitter || undefined);
      delete form.dataset.confirmed;
    });
  }, true);

  document.addEventListener("htmx:confirm", (event) => {
    if (!event.detail.question) return;
    event.preventDefault();
    const elt = event.detail.elt;
    ask(event.detail.question, elt.dataset.confirmButton, () => event.detail.issueRequest(true));
  });
})();

// Inline editing on detail pages: a click on a value asks for its input (crm/views.py
// record_field); Escape puts the value back. Enter submits the form like any form.
(function () {
  "use strict";
  document.addEventListener("click", (event) => {
    const value = event.target.closest("[data-inline-edit-url]");
    if (!value || event.target.closest("a, button, input, select, textarea")) return;
    if (window.getSelection && String(window.getSelection()).length) return; // selecting text
    window.htmx.ajax("GET", value.dataset.inlineEditUrl, { target: value.closest(".field-row"), swap: "outerHTML" });
  });

  document.addEventListener("keydown", (event) => {
    const form = event.target.closest && event.target.closest("[data-inline-form]");
    if (!form) return;
    if (event.key === "Escape") {
      event.preventDefault();
      form.querySelector("[data-inline-cancel]").click();
    } else if (event.key === "Enter" && event.target.tagName === "TEXTAREA" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // A field's input just swapped in: put the cursor in it.
  document.addEventListener("htmx:load", (event) => {
    const row = event.detail.elt;
    if (!row.matches || !row.matches(".field-row.is-editing")) return;
    const input = row.querySelector("input:not([type=hidden]), select, textarea");
    if (!input) return;
    input.focus();
    if (input.select && input.type !== "checkbox") input.select();
  });
})();

// Copy buttons: <button data-copy="#input-id"> copies that input's value and says so.
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const done = () => { const text = button.textContent; button.textContent = "Copied"; setTimeout(() => { button.textContent = text; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(source.value).then(done);
  else { source.select(); document.execCommand("copy"); done(); }
});
