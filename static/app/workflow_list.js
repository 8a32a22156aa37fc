// The workflows list: the "⋯" row menus (Actions) and the columns a person shows or hides.
(function () {
  "use strict";
  const HIDDEN_KEY = "workflows.hiddenColumns";

  function closeMenus(except) {
    document.querySelectorAll("[data-row-menu-button][aria-expanded='true']").forEach((button) => {
      if (button === except) return;
      button.setAttribute("aria-expanded", "false");
      document.getElementById(button.getAttribute("aria-controls")).hidden = true;
    });
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-row-menu-button]");
    closeMenus(button);
    if (!button) return;
    const menu = document.getElementById(button.getAttribute("aria-controls"));
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    menu.hidden = !open;
    if (open) menu.querySelector("[role='menuitem']")?.focus();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = document.querySelector("[data-row-menu-button][aria-expanded='true']");
    closeMenus(null);
    open?.focus();
  });

  // Delete asks first: its form's data-confirm opens app.js's confirmation dialog.

  function hiddenColumns() {
    try { return JSON.parse(localStorage.getItem(HIDDEN_KEY)) || []; } catch { return []; }
  }

  function applyColumns() {
    const hidden = hiddenColumns();
    document.querySelectorAll("[data-columns-table]").forEach((table) => {
      ["trigger", "updated", "status", "runs"].forEach((key) => {
        table.classList.toggle(`hide-${key}`, hidden.includes(key));
      });
    });
    document.querySelectorAll("[data-columns-menu] input").forEach((input) => {
      input.checked = !hidden.includes(input.value);
    });
  }

  document.addEventListener("change", (event) => {
    const input = event.target.closest("[data-columns-menu] input");
    if (!input) return;
    event.stopPropagation();  // not a filter change: the list form must not reload
    const hidden = new Set(hiddenColumns());
    if (input.checked) hidden.delete(input.value); else hidden.add(input.value);
    localStorage.setItem(HIDDEN_KEY, JSON.stringify([...hidden]));
    applyColumns();
  }, true);

  document.addEventListener("DOMContentLoaded", applyColumns);
  document.addEventListener("htmx:afterSwap", applyColumns);
})();
