// The workflow builder's client side (SPEC 8.1): pan/zoom with the vendored Panzoom, the step
// and trigger pickers, selection, keyboard, drag onto a "+", copy/paste. Every edit is an HTMX
// POST answered with the canvas's new content, swapped inside the stage, so the view stays.
(function () {
  "use strict";
  const root = document.querySelector("[data-builder]");
  let viewport = null;
  let stage = null;
  let zoom = null;
  let selected = null;
  let edge = "";
  let hoveredPlus = null;

  // --- pan, zoom, zoom to fit ------------------------------------------------------------------
  function content() { return stage && stage.querySelector(".canvas-content"); }

  // Zoom to fit; `readable` (the first view) never goes below 75 %, starting at the top.
  function fit(readable) {
    const box = content();
    if (!zoom || !box) return;
    // Focusing a card (Tab, or a click that scrolls it into view) scrolls the viewport, overflow
    // hidden, behind Panzoom's back: fitting without undoing that would miss by as much.
    viewport.scrollTop = 0;
    viewport.scrollLeft = 0;
    const w = box.offsetWidth, h = box.offsetHeight;
    const vw = viewport.clientWidth, vh = viewport.clientHeight;
    let scale = Math.max(0.1, Math.min(1, (vw - 24) / w, (vh - 24) / h));
    if (readable === true) scale = Math.max(scale, Math.min(0.75, (vw - 24) / w));
    zoom.zoom(scale, { animate: false, force: true });
    const x = (vw / scale - w) / 2;
    const y = Math.max(12 / scale, (vh / scale - h) / 2);
    setTimeout(() => zoom.pan(x, y, { animate: false, force: true }));
  }

  function centreOn(card) {
    if (!zoom || !card) return;
    const scale = zoom.getScale();
    const x = viewport.clientWidth / (2 * scale) - (card.offsetLeft + card.offsetWidth / 2);
    const y = viewport.clientHeight / (2 * scale) - (card.offsetTop + card.offsetHeight / 2);
    zoom.pan(x, y, { animate: true, force: true });
  }

  function onWheel(event) { event.preventDefault(); if (zoom) zoom.zoomWithWheel(event); }

  // (Re)binds Panzoom to the stage on the page; the run view's box is re-rendered by live.js.
  function initCanvas() {
    const found = document.querySelector("[data-canvas-stage]");
    if (!found || found === stage || !window.Panzoom) return;
    if (zoom) zoom.destroy();
    stage = found;
    viewport = stage.closest("[data-canvas-viewport]");
    zoom = window.Panzoom(stage, {
      canvas: true, origin: "0 0", minScale: 0.1, maxScale: 2, step: 0.15,
      excludeClass: "panzoom-exclude", cursor: "grab",
    });
    viewport.addEventListener("wheel", onWheel, { passive: false });
    fit(true);
    window.builderZoom = zoom;
  }
  initCanvas();
  document.addEventListener("click", (event) => { if (event.target.closest("[data-zoom-fit]")) fit(); });
  if (!root) {
    new MutationObserver(initCanvas).observe(document.body, { childList: true, subtree: true });
  }

  // The Versions and Runs tabs of a draft are editable but draw no canvas: nothing to bind.
  if (!root || !root.hasAttribute("data-editable") || !stage) return;
  const base = root.dataset.builderUrl;
  const message = document.getElementById("builder-message");
  const picker = document.getElementById("step-picker");
  const triggerPicker = document.getElementById("trigger-picker");
  const clipboardKey = "builder-clipboard:" + root.dataset.workflow;

  // --- requests --------------------------------------------------------------------------------
  function revision() {
    const box = content();
    return box ? box.dataset.revision : "";
  }

  function post(path, values) {
    return window.htmx.ajax("POST", base + path, {
      source: stage, target: "#canvas-stage", swap: "innerHTML", values: values || {},
    });
  }

  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.verb === "post" && root.contains(event.detail.elt)) {
      event.detail.parameters.revision = revision();
    }
  });
  // The settings panel saved (HX-Trigger "builder:changed"): take its revision at once, so the
  // next edit is not refused as stale, and redraw the canvas (names, problems).
  document.addEventListener("builder:changed", (event) => {
    const box = content();
    if (box && event.detail && event.detail.revision) box.dataset.revision = event.detail.revision;
    window.htmx.ajax("GET", base + "canvas/", { source: stage, target: "#canvas-stage", swap: "innerHTML" });
  });
  document.addEventListener("htmx:responseError", (event) => {
    if (!root.contains(event.detail.elt)) return;
    const xhr = event.detail.xhr;
    message.textContent = xhr.responseText || "That did not work.";
    if (xhr.status === 409) {
      const link = document.createElement("a");
      link.href = location.pathname;
      link.textContent = " Reload";
      message.appendChild(link);
    }
    message.hidden = false;
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (!event.detail.successful || !root.contains(event.detail.elt)) return;
    if (event.detail.requestConfig.verb === "post") message.hidden = true;
    if (event.detail.elt.closest && event.detail.elt.closest("dialog")) event.detail.elt.closest("dialog").close();
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== stage) return;
    if (selected) select(stage.querySelector(`[data-step-id="${CSS.escape(selected)}"]`));
  });

  // --- selection -------------------------------------------------------------------------------
  function select(card) {
    stage.querySelectorAll(".canvas-card.is-selected").forEach((c) => c.classList.remove("is-selected"));
    selected = card ? card.dataset.stepId : null;
    if (card) card.classList.add("is-selected");
  }

  function clearPanel() {
    const panel = document.getElementById("builder-panel");
    if (panel) panel.innerHTML = '<p class="muted">Select a card to edit its settings.</p>';
  }

  stage.addEventListener("click", (event) => {
    const card = event.target.closest(".canvas-card");
    const plus = event.target.closest(".canvas-plus");
    if (card) {
      select(card);
      if (card.hasAttribute("data-open-trigger-picker")) triggerPicker.showModal();
    } else if (plus) {
      openPicker(plus.dataset.edge);
    }
  });
  stage.addEventListener("mouseover", (event) => {
    const plus = event.target.closest(".canvas-plus");
    if (plus) hoveredPlus = plus;
  });
  stage.addEventListener("mouseout", (event) => {
    if (event.target.closest(".canvas-plus") === hoveredPlus) hoveredPlus = null;
  });

  document.addEventListener("click", (event) => {
    const focus = event.target.closest("[data-focus-step]");
    if (focus) {
      event.preventDefault();
      const card = stage.querySelector(`[data-step-id="${CSS.escape(focus.dataset.focusStep)}"]`);
      if (card) { select(card); centreOn(card); card.focus({ preventScroll: true }); }
    }
    const opener = event.target.closest("[data-open-dialog]");
    if (opener) document.getElementById(opener.dataset.openDialog).showModal();
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });

  // --- the pickers -----------------------------------------------------------------------------
  function clipboard() {
    try { return JSON.parse(sessionStorage.getItem(clipboardKey) || "null"); } catch (e) { return null; }
  }

  function openPicker(at) {
    edge = at;
    picker.querySelector("[data-picker-at]").value = at;
    const search = picker.querySelector("[data-picker-search]");
    search.value = "";
    filter("");
    const copied = clipboard();
    const slot = picker.querySelector("[data-paste-slot]");
    slot.hidden = !copied;
    if (copied) slot.querySelector("button").textContent = `Paste ${copied.name}`;
    picker.showModal();
    search.focus();
  }

  function filter(text) {
    const query = text.trim().toLowerCase();
    let shown = 0;
    picker.querySelectorAll("[data-picker-group]").forEach((group) => {
      let any = false;
      group.querySelectorAll(".picker-item").forEach((item) => {
        const match = !query || item.dataset.label.includes(query);
        item.hidden = !match;
        any = any || match;
        shown += match ? 1 : 0;
      });
      group.hidden = !any;
    });
    picker.querySelector("[data-picker-empty]").hidden = shown > 0;
  }

  picker.querySelector("[data-picker-search]").addEventListener("input", (e) => filter(e.target.value));
  picker.querySelector("[data-picker-search]").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    const first = Array.from(picker.querySelectorAll(".picker-item")).find((i) => !i.hidden);
    if (first) first.click();
  });
  picker.querySelector("[data-paste-here]").addEventListener("click", () => {
    const copied = clipboard();
    picker.close();
    if (copied) post("paste/", { at: edge, source: copied.id });
  });

  // --- drag a card onto a "+" ------------------------------------------------------------------
  stage.addEventListener("dragstart", (event) => {
    const card = event.target.closest(".canvas-card[draggable]");
    if (!card) return;
    event.dataTransfer.setData("text/x-step", card.dataset.stepId);
    event.dataTransfer.effectAllowed = "move";
    card.classList.add("is-drop-source");
  });
  stage.addEventListener("dragend", () => {
    stage.querySelectorAll(".is-drop-source, .is-drop-target").forEach((el) => el.classList.remove("is-drop-source", "is-drop-target"));
  });
  stage.addEventListener("dragover", (event) => {
    const plus = event.target.closest(".canvas-plus");
    if (!plus) return;
    event.preventDefault();
    plus.classList.add("is-drop-target");
  });
  stage.addEventListener("dragleave", (event) => {
    const plus = event.target.closest(".canvas-plus");
    if (plus) plus.classList.remove("is-drop-target");
  });
  stage.addEventListener("drop", (event) => {
    const plus = event.target.closest(".canvas-plus");
    const step = event.dataTransfer.getData("text/x-step");
    if (!plus || !step) return;
    event.preventDefault();
    post(`steps/${encodeURIComponent(step)}/move/`, { to: plus.dataset.edge });
  });

  // --- keyboard --------------------------------------------------------------------------------
  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
  }

  document.addEventListener("keydown", (event) => {
    if (typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return; // the dialog handles its own keys
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    const step = selected && selected !== "trigger" ? selected : null;
    if (event.key === "Escape") {
      select(null);
      clearPanel();
    } else if ((event.key === "Delete" || event.key === "Backspace") && step) {
      event.preventDefault();
      selected = null;
      clearPanel();
      post(`steps/${encodeURIComponent(step)}/delete/`);
    } else if (mod && key === "z") {
      event.preventDefault();
      post(event.shiftKey ? "redo/" : "undo/");
    } else if (mod && key === "y") {
      event.preventDefault();
      post("redo/");
    } else if (mod && key === "c" && step) {
      const card = stage.querySelector(`[data-step-id="${CSS.escape(step)}"]`);
      sessionStorage.setItem(clipboardKey, JSON.stringify({ id: step, name: card ? card.getAttribute("aria-label") : step }));
    } else if (mod && key === "v") {
      const copied = clipboard();
      const plus = document.activeElement && document.activeElement.closest && document.activeElement.closest(".canvas-plus") || hoveredPlus;
      const at = plus ? plus.dataset.edge : selected ? (selected === "trigger" ? "trigger::" : `after:${selected}:`) : "";
      if (copied && at) { event.preventDefault(); post("paste/", { at: at, source: copied.id }); }
    } else if (mod && key === "d" && step) {
      event.preventDefault();
      post(`steps/${encodeURIComponent(step)}/duplicate/`);
    }
  });
})();
