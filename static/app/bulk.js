// The list pages' bulk bar, beyond app.js's ticking: "Select all N matching" (the server finds
// those records again from the list's query: crm/bulk.py) and the bulk edit dialog.
(function () {
  "use strict";

  function parts(form) {
    return {
      boxes: form.querySelectorAll('input[name="record_ids"]'),
      input: form.querySelector("[data-select-matching-input]"),
      offer: form.querySelector("[data-select-matching]"),
      chosen: form.querySelector("[data-matching-selected]"),
    };
  }

  function allTicked(boxes) {
    return boxes.length > 0 && Array.from(boxes).every((box) => box.checked);
  }

  // Runs after app.js's refreshSelection (listeners fire in the order they were added).
  function refresh(form) {
    if (!form) return;
    const p = parts(form);
    if (!p.input) return;
    const ticked = allTicked(p.boxes);
    if (!ticked) p.input.value = "";
    const matching = p.input.value === "matching";
    if (p.offer) p.offer.hidden = !ticked || matching;
    if (p.chosen) p.chosen.hidden = !matching;
    const tickedCount = form.querySelector("[data-ticked-count]");
    if (tickedCount) tickedCount.hidden = matching;
    if (matching && p.offer) {
      form.querySelectorAll("[data-selected-count]").forEach((el) => { el.textContent = p.offer.dataset.total; });
    }
  }

  document.addEventListener("change", (event) => {
    if (event.target.form && event.target.form.id === "bulk-actions") refresh(event.target.form);
  });

  document.addEventListener("click", (event) => {
    const form = event.target.closest && event.target.closest("#bulk-actions");
    if (!form) return;
    if (event.target.closest("[data-select-matching]")) {
      parts(form).input.value = "matching";
      refresh(form);
    } else if (event.target.closest("[data-clear-selection]")) {
      parts(form).boxes.forEach((box) => { box.checked = false; });
      const all = form.querySelector("[data-select-all]");
      if (all) {
        all.checked = false;
        all.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
    const opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog) dialog.showModal();
    }
    const closer = event.target.closest("[data-dialog-close]");
    if (closer) closer.closest("dialog").close();
  });

  document.addEventListener("DOMContentLoaded", () => refresh(document.getElementById("bulk-actions")));
  document.addEventListener("htmx:afterSettle", () => refresh(document.getElementById("bulk-actions")));
})();
