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
