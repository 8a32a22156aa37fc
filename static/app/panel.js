// The builder's settings panel (workflows/builder/panel_views.py): the variable picker that
// inserts {{path}} at the cursor, redrawing the form when its object changes, the webhook URL's
// copy button, and redrawing the canvas after a save (the `builder:changed` event).
(() => {
  "use strict";
  let target = null; // the input the open picker inserts into

  function pickerOf(element) {
    const panel = element.closest(".settings-panel");
    return panel ? panel.querySelector("[data-variable-picker]") : null;
  }

  function closePicker(picker) {
    if (!picker || picker.hidden) return;
    picker.hidden = true;
    if (target) target.focus();
  }

  function openPicker(button) {
    const picker = pickerOf(button);
    target = document.getElementById(button.dataset.insertVariable);
    if (!picker || !target) return;
    // Drawn right under the field it serves, so it reads in order with a screen reader too.
    const row = button.closest(".with-variable, .keyvalue-row, .record-field, .form-field, .condition-leaf");
    (row || button).after(picker);
    picker.hidden = false;
    const search = picker.querySelector("[data-variable-search]");
    search.value = "";
    filter(picker, "");
    search.focus();
  }

  function filter(picker, query) {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    picker.querySelectorAll("[data-variable-item]").forEach((item) => {
      const match = words.every((word) => item.dataset.search.includes(word));
      item.hidden = !match;
      if (match) shown += 1;
    });
    picker.querySelector("[data-variable-empty]").hidden = shown > 0;
  }

  function insert(path, picker) {
    if (!target) return;
    const text = "{{" + path + "}}";
    const start = target.selectionStart ?? target.value.length;
    const end = target.selectionEnd ?? start;
    target.setRangeText(text, start, end, "end");
    target.dispatchEvent(new Event("input", { bubbles: true }));
    closePicker(picker);
  }

  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-insert-variable]");
    if (opener) {
      event.preventDefault();
      openPicker(opener);
      return;
    }
    const choice = event.target.closest("[data-variable]");
    if (choice) {
      insert(choice.dataset.variable, choice.closest("[data-variable-picker]"));
      return;
    }
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const field = document.querySelector(copy.dataset.copy);
      if (field && navigator.clipboard) navigator.clipboard.writeText(field.value);
      else if (field) { field.select(); document.execCommand("copy"); }
      copy.textContent = "Copied";
      setTimeout(() => { copy.textContent = "Copy"; }, 1500);
      return;
    }
    document.querySelectorAll("[data-variable-picker]:not([hidden])").forEach((picker) => {
      if (!picker.contains(event.target)) picker.hidden = true;
    });
  });

  document.addEventListener("input", (event) => {
    if (event.target.matches("[data-variable-search]")) {
      filter(event.target.closest("[data-variable-picker]"), event.target.value);
    }
  });

  document.addEventListener("keydown", (event) => {
    const picker = event.target.closest && event.target.closest("[data-variable-picker]");
    if (picker && event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the canvas would clear its selection
      closePicker(picker);
    } else if (picker && event.key === "Enter" && event.target.matches("[data-variable-search]")) {
      event.preventDefault();
      const first = picker.querySelector("[data-variable-item]:not([hidden]) [data-variable]");
      if (first) insert(first.dataset.variable, picker);
    } else if (event.key === "Tab" && event.target.matches("[data-code-editor]") && !event.shiftKey) {
      event.preventDefault(); // two spaces in the code editor; Shift+Tab still leaves it
      event.target.setRangeText("  ", event.target.selectionStart, event.target.selectionEnd, "end");
    }
  }, true);

  // A changed object (or form field type) redraws the panel with its fields; nothing is saved.
  document.addEventListener("change", (event) => {
    if (!event.target.matches("[data-panel-refresh]")) return;
    const form = event.target.closest("[data-panel-form]");
    if (!form) return;
    const action = document.createElement("input");
    action.type = "hidden";
    action.name = "_action";
    action.value = "refresh";
    form.appendChild(action);
    form.requestSubmit();
  });

  // After a save the canvas (its cards' problems, the Undo button, the draft's revision) is
  // drawn again; its view stays where it was, as after any canvas edit.
  document.addEventListener("builder:changed", (event) => {
    const panel = event.target.closest ? event.target.closest(".settings-panel") : null;
    const stage = document.getElementById("canvas-stage");
    if (panel && stage && window.htmx) {
      window.htmx.ajax("GET", panel.dataset.canvasUrl, { target: "#canvas-stage", swap: "innerHTML" });
    }
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = event.detail.elt;
    if (event.detail.successful && elt.matches && elt.matches("[data-panel-delete]")) {
      const holder = document.getElementById("builder-panel");
      if (holder) holder.innerHTML = '<p class="muted">Select a card to edit its settings.</p>';
    }
  });
})();
