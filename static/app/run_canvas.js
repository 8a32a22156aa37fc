// The run view's canvas (SPEC 8, "Run view"): which edges the run went along, and which item
// of an iterator the cards inside it show, kept up to date as live step events arrive (live.js
// hands them over as "live:step"). Cards carry their state in attributes (data-status,
// data-branches, data-loops, data-runs), so a re-rendered canvas needs no setup.
(function () {
  "use strict";

  function stageOf() { return document.querySelector(".run-viewport [data-canvas-stage]"); }

  function parse(text, fallback) {
    try { return text ? JSON.parse(text) : fallback; } catch (error) { return fallback; }
  }

  // The same rule as workflows/builder/canvas.py's edge_state: keep the two alike.
  function edgeState(rule, statusOf, branchesOf) {
    const ran = (id) => statusOf(id) !== "not_run";
    const chose = (id, branch) => branchesOf(id).includes(branch);
    const refused = (id, branch) => branchesOf(id).length > 0 && !chose(id, branch);
    const checks = rule.guards.map(([id, branch]) => chose(id, branch));
    if (rule.from) {
      checks.push(ran(rule.from));
      if (rule.branch) checks.push(chose(rule.from, rule.branch));
    }
    if (rule.to) checks.push(ran(rule.to));
    else if (rule.from) checks.push(statusOf(rule.from) === "succeeded");
    if (checks.length && checks.every(Boolean)) return "taken";
    if (rule.guards.some(([id, branch]) => refused(id, branch))) return "untaken";
    if (rule.from && rule.branch && refused(rule.from, rule.branch)) return "untaken";
    return "";
  }

  function paint(stage) {
    const cards = {};
    stage.querySelectorAll(".canvas-card[data-step-id]").forEach((card) => { cards[card.dataset.stepId] = card; });
    const statusOf = (id) => (cards[id] && cards[id].dataset.status) || "not_run";
    const branchesOf = (id) => (cards[id] ? parse(cards[id].dataset.branches, []) : []);
    stage.querySelectorAll("path[data-edge]").forEach((path) => {
      const state = edgeState(parse(path.dataset.edge, { guards: [] }), statusOf, branchesOf);
      path.classList.toggle("edge-taken", state === "taken");
      path.classList.toggle("edge-untaken", state === "untaken");
    });
  }

  // --- iterations: cards inside a loop body show the chosen item's run -------------------
  const RANK = ["not_run", "skipped", "succeeded", "running", "waiting", "failed"];

  function chosenItems(stage, loops) {
    return loops.map((iterator) => {
      const select = stage.querySelector(`select[data-iteration-of="${CSS.escape(iterator)}"]`);
      return select ? select.value : "";
    });
  }

  function matches(scope, chosen) {
    const indexes = scope.split(".");
    return chosen.every((value, depth) => value === "" || indexes[depth] === value);
  }

  // A card's status and branches over the items chosen in its iterators: the worst of them.
  function showChosen(stage, card) {
    const loops = parse(card.dataset.loops, []);
    const chosen = chosenItems(stage, loops);
    let status = "not_run";
    const branches = new Set();
    Object.entries(parse(card.dataset.runs, {})).forEach(([scope, [state, chose]]) => {
      if (!matches(scope, chosen)) return;
      if (RANK.indexOf(state) >= RANK.indexOf(status)) status = state;
      chose.forEach((branch) => branches.add(branch));
    });
    card.dataset.status = status;
    card.dataset.branches = JSON.stringify(Array.from(branches));
    // What the details panel asks for: this item's run ("*" where "All" is chosen).
    card.dataset.scope = chosen.map((value) => value || "*").join(".");
  }

  function addItem(stage, loops, scope) {
    scope.split(".").forEach((index, depth) => {
      const select = loops[depth] && stage.querySelector(`select[data-iteration-of="${CSS.escape(loops[depth])}"]`);
      if (!select || !/^\d+$/.test(index)) return;
      for (let n = select.options.length - 1; n <= Number(index); n += 1) {
        select.add(new Option(`Item ${n}`, String(n)));  // 0-based, like `index` and the step list
      }
    });
  }

  document.addEventListener("change", (event) => {
    const select = event.target.closest && event.target.closest("select[data-iteration-of]");
    const stage = select && select.closest("[data-canvas-stage]");
    if (!stage) return;
    stage.querySelectorAll(".canvas-card[data-loops]").forEach((card) => {
      if (parse(card.dataset.loops, []).includes(select.dataset.iterationOf)) showChosen(stage, card);
    });
    repaint();
    // The panel follows the chosen item when it shows a card inside this loop.
    const open = stage.querySelector(".canvas-card.is-selected[data-loops]");
    if (open && window.htmx && parse(open.dataset.loops, []).includes(select.dataset.iterationOf)) {
      window.htmx.trigger(open, "click");
    }
  });

  // --- a card's details in the side panel (hx-get on the card) ---------------------------
  document.addEventListener("htmx:configRequest", (event) => {
    const card = event.detail.elt.closest && event.detail.elt.closest(".run-viewport .canvas-card");
    if (card && card.dataset.scope) event.detail.parameters.scope = card.dataset.scope;
  });
  document.addEventListener("click", (event) => {
    const card = event.target.closest && event.target.closest(".run-viewport .canvas-card");
    if (!card) return;
    card.closest("[data-canvas-stage]").querySelectorAll(".canvas-card.is-selected")
      .forEach((other) => other.classList.remove("is-selected"));
    card.classList.add("is-selected");
  });

  let pending = false;
  function repaint() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; const stage = stageOf(); if (stage) paint(stage); });
  }

  document.addEventListener("live:step", (event) => {
    const stage = stageOf();
    if (!stage) return;
    const message = event.detail;
    const card = stage.querySelector(`.canvas-card[data-step-id="${CSS.escape(message.step_id)}"]`);
    if (!card) return;
    event.preventDefault();
    const branch = message.output && message.output.branch;
    const branches = message.step_type === "if_else" && branch ? [String(branch)] : [];
    if (card.dataset.loops && message.scope) {
      const runs = parse(card.dataset.runs, {});
      runs[message.scope] = [message.status, branches];
      card.dataset.runs = JSON.stringify(runs);
      addItem(stage, parse(card.dataset.loops, []), message.scope);
      showChosen(stage, card);
    } else {
      card.dataset.status = message.status;
      if (branches.length) card.dataset.branches = JSON.stringify(branches);
    }
    repaint();
  });
})();
