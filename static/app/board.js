// The opportunities board: drag a card (or pick its stage) to move it; the server writes the
// stage through the record service, and the card goes back if the server refuses.
(function () {
  "use strict";
  const ZERO = "00000000-0000-0000-0000-000000000000";

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function column(stage) {
    return document.querySelector(`.board-column[data-stage="${stage}"]`);
  }

  function recount() {
    document.querySelectorAll(".board-column").forEach((col) => {
      col.querySelector("[data-count]").textContent = col.querySelectorAll(".board-card").length;
    });
  }

  function say(text) {
    const status = document.querySelector("[data-board-status]");
    if (status) status.textContent = text;
  }

  async function move(card, stage) {
    const from = card.closest(".board-column");
    if (!from || from.dataset.stage === stage) return;
    const board = card.closest("[data-board]");
    column(stage).querySelector("[data-drop]").prepend(card);
    card.querySelector("[data-stage-select]").value = stage;
    recount();
    const body = new URLSearchParams({ stage });
    const response = await fetch(board.dataset.moveUrl.replace(ZERO, card.dataset.id), {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
      body,
      credentials: "same-origin",
    }).catch(() => null);
    if (response && response.ok) {
      card.dataset.saved = stage;
      say(`${card.dataset.name} moved to ${column(stage).querySelector("h2").textContent}.`);
      return;
    }
    from.querySelector("[data-drop]").prepend(card);  // refused: put it back
    card.querySelector("[data-stage-select]").value = from.dataset.stage;
    recount();
    const detail = response ? (await response.json().catch(() => ({}))).detail : "";
    say(`Could not move ${card.dataset.name}${detail ? ": " + detail : "."}`);
  }

  document.addEventListener("dragstart", (event) => {
    const card = event.target.closest(".board-card");
    if (!card) return;
    event.dataTransfer.setData("text/plain", card.dataset.id);
    event.dataTransfer.effectAllowed = "move";
    card.classList.add("is-dragging");
  });
  document.addEventListener("dragend", (event) => {
    event.target.closest(".board-card")?.classList.remove("is-dragging");
    document.querySelectorAll(".board-column.is-over").forEach((c) => c.classList.remove("is-over"));
  });
  document.addEventListener("dragover", (event) => {
    const target = event.target.closest(".board-column");
    if (!target) return;
    event.preventDefault();
    document.querySelectorAll(".board-column.is-over").forEach((c) => c !== target && c.classList.remove("is-over"));
    target.classList.add("is-over");
  });
  document.addEventListener("drop", (event) => {
    const target = event.target.closest(".board-column");
    if (!target) return;
    event.preventDefault();
    target.classList.remove("is-over");
    const card = document.querySelector(`.board-card[data-id="${event.dataTransfer.getData("text/plain")}"]`);
    if (card) move(card, target.dataset.stage);
  });
  document.addEventListener("change", (event) => {
    const select = event.target.closest("[data-stage-select]");
    if (select) move(select.closest(".board-card"), select.value);
  });
})();
