// The builder's settings panel (workflows/builder/panel_views.py): the variable picker that
// inserts {{path}} at the cursor, redrawing the form when its object changes, the webhook URL's
// copy button. After a save builder.js redraws the canvas (the `builder:changed` event).
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
    if (target && target.codeMirror) target.codeMirror.focus();
    else if (target) target.focus();
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
    search.focus();
    if (!picker.dataset.loaded) {
      picker.dataset.loaded = "true";
      window.htmx.trigger(search, "search"); // the entries load from the server (hx-get)
    }
  }

  function insert(path, picker) {
    if (!target) return;
    const text = "{{" + path + "}}";
    if (target.codeMirror) { // the code editor (code_editor.js): at its cursor
      target.codeMirror.replaceSelection(text);
      closePicker(picker);
      return;
    }
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

  document.addEventListener("keydown", (event) => {
    const picker = event.target.closest && event.target.closest("[data-variable-picker]");
    if (picker && event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the canvas would clear its selection
      closePicker(picker);
    } else if (picker && event.key === "Enter" && event.target.matches("[data-variable-search]")) {
      event.preventDefault();
      const first = picker.querySelector("[data-variable]");
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

  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = event.detail.elt;
    if (event.detail.successful && elt.matches && elt.matches("[data-panel-delete]")) {
      const holder = document.getElementById("builder-panel");
      if (holder) holder.innerHTML = '<p class="muted">Select a card to edit its settings.</p>';
    }
  });
})();
