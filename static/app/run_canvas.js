// The run view's canvas (SPEC 8, "Run view"): which edges the run went along, kept up to date
// as live step events arrive (live.js hands them over as "live:step"). Cards carry their
// state in attributes (data-status, data-branches), so a re-rendered canvas needs no setup.
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
    card.dataset.status = message.status;
    const branch = message.output && message.output.branch;
    if (message.step_type === "if_else" && branch) card.dataset.branches = JSON.stringify([String(branch)]);
    repaint();
  });
})();
