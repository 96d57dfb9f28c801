// The director's planning board on the workspace API (CONTRACT v2, docs/workspace.md): the roster and the
// pipeline (filter, sort, CSV in and out), a proposal solved from them and compared with the plan of record,
// the bookings on a Gantt by week (confirm, release), and publishing. Shares app.js's helpers (window.director.lib);
// its own state is window.director.board, for tests and curious users.
"use strict";

(() => {
  const director = window.director;
  const L = director.lib;
  const $ = (selector) => document.querySelector(selector);
  const STATUS_COLORS = { confirmed: "#15803d", tentative: "#2563eb", broken: "#b91c1c", proposed: "#a5b4fc" };
  const LIVE = ["confirmed", "tentative", "broken"];
  const BOARD_ROWS = 28; // rows of people in view on the board; more scroll

  const board = {
    role: "admin", // from GET /v1/me: a viewer sees no rate or cost and no button that writes
    workspace: null, // GET /v1/workspace
    staff: [], deals: [], bookings: [],
    proposal: null, // the proposal's plan (GET /v1/plans/{id}) once solved
    record: null, // the plan of record's plan, if there is one
    running: null, // id of the proposal being solved
    sort: { staff: ["id", 1], deals: ["id", 1] },
    bars: [], // what the Gantt drew: [{staffId, start, end, status, booking?, deal}]
  };
  director.board = board;
  const seesMoney = () => board.role !== "viewer";

  // ------------------------------------------------------------------ weeks as dates

  // A director reads "W48 · 23 Nov", never "week 3 of the horizon": the page's one convention (app.js).
  const { weekLabels } = L;
  const weekText = (w) => (board.weeks || [])[w] || `week ${w}`;

  // ------------------------------------------------------------------ loading

  async function allPages(path, query = "") {
    const items = [];
    let cursor = "";
    for (;;) {
      const page = await L.api(`${path}?limit=500${query ? `&${query}` : ""}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      items.push(...page.items);
      if (!page.next_cursor) return items;
      cursor = page.next_cursor;
    }
  }

  async function loadRole() {
    try {
      const me = await L.api("/v1/me");
      board.role = me.role;
      $("#role-badge").textContent = `${me.role} · ${me.tenant}`;
    } catch {
      board.role = "viewer"; // unknown: show the least
      $("#role-badge").textContent = "";
    }
    document.body.dataset.role = board.role;
  }

  async function loadWorkspace(role = Promise.resolve()) {
    const asked = L.api("/v1/workspace");
    // The live bookings by status, at once: the list also holds every replaced and released one, which grows
    // with each publish.
    const [workspace, staff, deals, ...byStatus] = await Promise.all([
      asked, allPages("/v1/workspace/staff"), allPages("/v1/workspace/opportunities"),
      ...LIVE.map((status) => allPages("/v1/workspace/bookings", `status=${status}`)), role,
    ]);
    Object.assign(board, { workspace, staff, deals, bookings: byStatus.slice(0, LIVE.length).flat() });
    board.weeks = weekLabels(workspace.horizon);
    // The plan of record (for the comparison and its open work) is the largest answer: asked for now, while
    // the rest is drawn (asked for with the others, it slowed them down: measured), and awaited last.
    const recordId = workspace.plan_of_record_id;
    const record = !recordId ? Promise.resolve(null)
      : board.record && board.record.id === recordId ? Promise.resolve(board.record) : L.api(`/v1/plans/${recordId}`);
    board.staffById = new Map(staff.map((s) => [s.id, s]));
    board.dealById = new Map(deals.map((o) => [o.id, o]));
    $("#horizon-start").value = workspace.horizon.start;
    $("#horizon-weeks").value = String(workspace.horizon.weeks);
    $("#ws-revision").textContent = String(workspace.revision);
    document.body.dataset.revision = String(workspace.revision);
    const counts = LIVE.map((s) => `${workspace.bookings[s] || 0} ${s}`).join(", ");
    $("#ws-summary").textContent = `${staff.length} people, ${deals.length} deals, ${workspace.horizon.weeks} weeks from ` +
      `${weekText(0)} ${workspace.horizon.start.slice(0, 4)} · bookings: ${counts}` +
      (workspace.plan_of_record_id ? ` · plan of record ${workspace.plan_of_record_id.slice(0, 8)}` : " · no plan published yet");
    fillFilters();
    renderTables();
    renderBoard();
    board.record = await record;
    renderUnfilled();
    renderProposal();
  }

  board.reload = () => loadWorkspace(); // after a write elsewhere on the page (roster.js)

  async function refresh() {
    document.body.dataset.boardReady = "false";
    try {
      // The role decides which columns show, so it must be known before the tables are drawn; ask both at once.
      const role = loadRole();
      const loaded = loadWorkspace(role);
      prepareBoard(); // while the answers are on their way
      await loaded;
    } catch (error) {
      if (error.status === 401) L.setStatus("This server needs an API key: enter it at the top right and press “Save key”.", "error");
      else L.showError(error, "Could not load the workspace: ");
    }
    document.body.dataset.boardReady = "true";
    board.loadedMs = Math.round(performance.now()); // since navigation started: the issue asks for under 1 s
  }

  // ------------------------------------------------------------------ roster and pipeline

  const unique = (values) => [...new Set(values.filter((v) => v != null && v !== ""))].sort();

  function fillFilters() {
    const fill = (id, values) => {
      const select = $(id);
      const kept = select.value;
      select.innerHTML = '<option value="">all</option>' + values.map((v) => `<option>${L.escapeHtml(v)}</option>`).join("");
      select.value = values.includes(kept) ? kept : "";
    };
    fill("#f-region", unique([...board.staff.map((s) => s.unit.region), ...board.deals.map((o) => o.region)]));
    fill("#f-unit", unique(board.staff.map((s) => s.unit.id)));
    fill("#f-grade", L.GRADES);
    const skills = unique([...board.staff.flatMap((s) => Object.keys(s.skills)), ...board.deals.flatMap((o) => o.demands.map((d) => d.skill))]);
    $("#skill-list").innerHTML = skills.map((s) => `<option value="${L.escapeHtml(s)}">`).join("");
  }

  function filters() {
    return { region: $("#f-region").value, unit: $("#f-unit").value, grade: $("#f-grade").value, skill: $("#f-skill").value.trim() };
  }

  const STAFF_COLUMNS = [
    { key: "id", label: "Id", value: (s) => s.id },
    { key: "name", label: "Name", value: (s) => s.name || "" },
    { key: "role", label: "Role", value: (s) => (s.role || "").replace(/_/g, " ") },
    { key: "unit", label: "Unit", value: (s) => s.unit.id },
    { key: "region", label: "Region", value: (s) => s.unit.region },
    { key: "skills", label: "Skills", value: (s) => Object.entries(s.skills).map(([k, v]) => `${k} ${v}`).join(", ") },
    { key: "hours", label: "Hours/week", num: true, value: (s) => (Array.isArray(s.capacity_hours) ? Math.max(...s.capacity_hours) : s.capacity_hours) },
    { key: "rate", label: "Rate/h", num: true, money: true, value: (s) => s.hourly_rate },
  ];
  const DEAL_COLUMNS = [
    { key: "id", label: "Id", value: (o) => o.id },
    { key: "grade", label: "Grade", value: (o) => o.grade },
    { key: "name", label: "Deal", value: (o) => o.name || "" },
    { key: "customer", label: "Customer", value: (o) => o.customer || "" },
    { key: "region", label: "Region", value: (o) => o.region },
    { key: "value", label: "Value", num: true, value: (o) => o.deal_value },
    { key: "p", label: "Win %", num: true, value: (o) => Math.round(o.win_probability * 100) },
    { key: "skills", label: "Work needed", value: (o) => o.demands.map((d) => `${d.skill} ${d.min_level}+ ×${d.headcount || 1}`).join(", ") },
    { key: "budget", label: "Budget", num: true, money: true, value: (o) => o.presales_budget },
  ];

  function tableHtml(kind, columns, rows) {
    const [sortKey, direction] = board.sort[kind];
    const shown = columns.filter((c) => !c.money || seesMoney());
    const head = shown.map((c) => {
      const sorted = c.key === sortKey ? (direction > 0 ? "ascending" : "descending") : "none";
      return `<th class="${c.num ? "num" : ""}" aria-sort="${sorted}"><button type="button" class="sort" data-kind="${kind}" data-key="${c.key}">${c.label}${sorted === "none" ? "" : direction > 0 ? " ▲" : " ▼"}</button></th>`;
    }).join("");
    const format = (c, v) => (v == null ? "" : c.num ? L.nf0.format(v) : L.escapeHtml(v));
    const body = rows.map((r) => `<tr data-id="${L.escapeHtml(r.id)}">${shown.map((c) => `<td class="${c.num ? "num" : ""}">${format(c, c.value(r))}</td>`).join("")}</tr>`).join("");
    return `<thead><tr>${head}</tr></thead><tbody>${body}</tbody>`;
  }

  function sorted(kind, columns, rows) {
    const [key, direction] = board.sort[kind];
    const column = columns.find((c) => c.key === key) || columns[0];
    return rows.slice().sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      return direction * (column.num ? (x ?? -1) - (y ?? -1) : String(x).localeCompare(String(y)));
    });
  }

  function renderTables() {
    const f = filters();
    const people = board.staff.filter((s) => (!f.region || s.unit.region === f.region) && (!f.unit || s.unit.id === f.unit)
      && (!f.skill || Object.keys(s.skills).some((k) => k.includes(f.skill))));
    const deals = board.deals.filter((o) => (!f.region || o.region === f.region) && (!f.grade || o.grade === f.grade)
      && (!f.skill || o.demands.some((d) => d.skill.includes(f.skill))));
    $("#staff-table").innerHTML = tableHtml("staff", STAFF_COLUMNS, sorted("staff", STAFF_COLUMNS, people));
    $("#deal-table").innerHTML = tableHtml("deals", DEAL_COLUMNS, sorted("deals", DEAL_COLUMNS, deals));
    $("#staff-count").textContent = `${people.length} of ${board.staff.length}`;
    $("#deal-count").textContent = `${deals.length} of ${board.deals.length}`;
    $("#staff-table").dataset.rows = String(people.length);
    $("#deal-table").dataset.rows = String(deals.length);
    document.dispatchEvent(new CustomEvent("director:tables")); // roster.js adds its edit buttons
  }

  async function upload(kind, input) {
    const file = input.files[0];
    if (!file) return;
    const path = kind === "staff" ? "/v1/workspace/staff.csv" : "/v1/workspace/opportunities.csv";
    try {
      L.setStatus(`Importing ${file.name}…`, "busy");
      const answer = await L.api(path, { method: "PUT", body: await file.text(), contentType: "text/csv" });
      await loadWorkspace();
      L.setStatus(`${file.name}: ${answer.imported} ${kind === "staff" ? "people" : "deals"} imported; the workspace is at revision ${answer.revision}.`, "done");
    } catch (error) {
      L.showError(error, `${file.name} was not imported: `);
    } finally {
      input.value = "";
    }
  }

  // A stage's settings from its file (scenarios/<stage>.json, or any request or scenario file): its horizon and
  // policy (budget shares, lead rules, travel), so that a stage loaded from its CSV pair plans as its file does.
  async function uploadSettings(input) {
    const file = input.files[0];
    if (!file) return;
    try {
      let document;
      try {
        document = JSON.parse(await file.text());
      } catch (error) {
        throw new Error(`${file.name} is not JSON: ${error.message}`);
      }
      const source = document && typeof document.base === "object" && document.base ? document.base : document;
      if (!source || typeof source.horizon !== "object") throw new Error(`${file.name} has no horizon: choose a stage's file such as scenarios/fast-growth.json`);
      const settings = { horizon: source.horizon, policy: source.policy || {} };
      const answer = await L.api("/v1/workspace/settings", { method: "PUT", body: settings });
      await loadWorkspace();
      L.setStatus(`${file.name}: the workspace plans ${settings.horizon.weeks} weeks from ${settings.horizon.start} with its policy; revision ${answer.revision}.`, "done");
    } catch (error) {
      L.showError(error, `${file.name} was not applied: `);
    } finally {
      input.value = "";
    }
  }

  // The horizon first: a roster whose capacity lists have one figure a week needs a horizon of that many weeks.
  async function setHorizon() {
    const horizon = { start: $("#horizon-start").value, weeks: Number($("#horizon-weeks").value) };
    const answer = await L.api("/v1/workspace/settings", { method: "PUT", body: { horizon, policy: board.workspace.policy } });
    await loadWorkspace();
    L.setStatus(`The workspace plans ${horizon.weeks} weeks from ${weekText(0)} ${horizon.start.slice(0, 4)}; revision ${answer.revision}.`, "done");
  }

  // Download links carry the key in no URL: fetch the file with the key, then hand the browser a blob.
  async function download(path, name) {
    const headers = {};
    const key = localStorage.getItem("presales-allocator.api-key");
    if (key) headers["X-API-Key"] = key;
    const response = await fetch(path, { headers });
    if (!response.ok) throw new Error(`${name}: the server answered ${response.status}`);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  // ------------------------------------------------------------------ propose, cancel, publish

  // While the solve runs, GET /v1/plans/{id} answers its progress (docs/service.md, "A running job's plan so
  // far"): elapsed seconds, and once the search has a plan, its covered value and gap, improving as it goes.
  function progressText(id, p, limit) {
    const pr = p.progress || {};
    const el = $("#ws-progress");
    const parts = [`Proposal ${id.slice(0, 8)}: ${L.STATUS_WORDS[p.status] || p.status}`,
      `${pr.elapsed_s != null ? pr.elapsed_s.toFixed(1) : "0"} s of at most ${pr.time_limit_s ?? limit} s`];
    if (pr.covered_value != null) parts.push(`covered value so far ${L.moneyShort(pr.covered_value)}`);
    if (pr.gap != null) parts.push(`gap to the best possible ${(pr.gap * 100).toFixed(1)}%`);
    if (pr.improvements) parts.push(`${pr.improvements} improvement${pr.improvements === 1 ? "" : "s"}`);
    el.textContent = parts.join(" · ");
    el.dataset.elapsed = String(pr.elapsed_s ?? "");
    el.dataset.covered = String(pr.covered_value ?? "");
    el.dataset.gap = String(pr.gap ?? "");
    el.dataset.state = p.status;
  }

  async function propose() {
    const limit = Number($("#propose-limit").value) || 10;
    const started = Date.now();
    const accepted = await L.api("/v1/workspace/plans?mode=async", { method: "POST", body: { options: { time_limit_s: limit } } });
    board.running = accepted.id;
    $("#propose-cancel").hidden = false;
    $("#propose-cancel").disabled = false;
    progressText(accepted.id, accepted, limit);
    try {
      const plan = await L.poll(`/v1/plans/${accepted.id}`, (p) => !["queued", "running"].includes(p.status), (p) => progressText(accepted.id, p, limit));
      const seconds = Math.round((Date.now() - started) / 1000);
      if (!plan.assignments) throw new Error(`The proposal has no plan: ${plan.status}${plan.explanation ? `: ${plan.explanation.detail}` : plan.detail ? `, ${plan.detail}` : ""}`);
      board.proposal = plan;
      board.comparison = await L.api(`/v1/workspace/plans/${plan.id}/comparison`);
      const el = $("#ws-progress");
      el.textContent = `Proposal ${plan.id.slice(0, 8)} from revision ${plan.workspace_revision}: ` +
        `${L.STATUS_WORDS[plan.status] || plan.status}${plan.cancelled ? " (stopped early, best plan kept)" : ""}, in ${seconds} s · ` +
        `covered value ${L.moneyShort(plan.objective.covered_value)} · gap ${(plan.objective.gap * 100).toFixed(1)}%.`;
      Object.assign(el.dataset, { state: plan.status, covered: String(plan.objective.covered_value), gap: String(plan.objective.gap), cancelled: String(Boolean(plan.cancelled)) });
      renderProposal();
      renderBoard();
      L.setStatus(`Proposal ${plan.id.slice(0, 8)} is ready${plan.cancelled ? " (stopped: the best plan found is kept)" : ""}: compare it with the plan of record, then publish it.`, "done");
    } finally {
      board.running = null;
      $("#propose-cancel").hidden = true;
    }
  }

  async function cancelProposal() {
    if (!board.running) return;
    $("#propose-cancel").disabled = true;
    await L.api(`/v1/plans/${board.running}`, { method: "DELETE" }).catch((error) => L.showError(error, "Could not stop the solve: "));
  }

  // ------------------------------------------------------------------ the proposal against the plan of record
  // The comparison is the server's (GET /v1/workspace/plans/{id}/comparison: the what-if tab's comparison, with
  // the plan of record as the base); the page only words it.

  const personName = (id) => {
    const p = id && board.staffById.get(id);
    return id ? (p ? p.name || id : id) : "nobody";
  };
  // A deal by its name; where deals share a name (fast-growth has ten "Data sharing exchange"), with its id.
  const sharedNames = new WeakMap();
  const dealName = (id) => {
    const o = board.dealById && board.dealById.get(id);
    if (!o) return id;
    if (!sharedNames.has(board.dealById)) {
      const seen = new Map();
      for (const deal of board.dealById.values()) seen.set(deal.name, (seen.get(deal.name) || 0) + 1);
      sharedNames.set(board.dealById, new Set([...seen].filter(([, count]) => count > 1).map(([name]) => name)));
    }
    return !o.name ? id : sharedNames.get(board.dealById).has(o.name) ? `${o.name} · ${o.id}` : o.name;
  };
  const MOVE_WORDS = { replaced: "replaced", filled: "newly staffed", unfilled: "left open", slot_removed: "deal gone", slot_added: "new work" };

  function renderProposal() {
    const plan = board.proposal;
    $("#ws-proposal").hidden = !plan;
    $("#publish").hidden = !plan;
    if (!plan) return;
    const record = board.record;
    const rows = L.KPI_ROWS.filter((row) => row.delta && !row.grade && (seesMoney() || !/cost/i.test(row.label)));
    const head = `<thead><tr><th>Measure</th><th class="num">Plan of record</th><th class="num">Proposal</th></tr></thead>`;
    const body = rows.map((row) => {
      const now = row.get(plan.kpis);
      const then = record && record.kpis ? row.get(record.kpis) : null;
      const delta = then == null || now == null ? null : now - then;
      return `<tr data-measure="${L.escapeHtml(row.label)}"><td>${L.escapeHtml(row.label)}</td><td class="num">${then == null ? "–" : L.escapeHtml(row.show(then))}</td>` +
        `<td class="num" data-value="${now}">${L.escapeHtml(row.show(now))}${L.deltaHtml(row, delta)}</td></tr>`;
    }).join("");
    $("#ws-kpis").innerHTML = head + `<tbody>${body}</tbody>`;
    const stale = board.workspace && plan.workspace_revision !== board.workspace.revision;
    $("#ws-stale").hidden = !stale;
    $("#ws-stale").textContent = stale ? `The workspace changed since this proposal (revision ${plan.workspace_revision}, now ${board.workspace.revision}): ` +
      "propose again before publishing; locks and bookings made since are kept by the next proposal." : "";
    renderChanges();
  }

  function renderChanges() {
    const c = board.comparison;
    const el = $("#ws-changes");
    if (!c || !board.proposal || c.plan_id !== board.proposal.id) {
      el.innerHTML = "";
      return;
    }
    const deals = (ids) => ids.map((id) => {
      const o = board.dealById.get(id);
      return `<li data-opportunity="${L.escapeHtml(id)}">${o ? L.gradeBadge(o.grade) : ""} ${L.escapeHtml(dealName(id))}</li>`;
    }).join("");
    const leads = c.lead_changes.map((l) => `<tr data-opportunity="${L.escapeHtml(l.opportunity_id)}"><td>${L.escapeHtml(dealName(l.opportunity_id))}</td>` +
      `<td>${L.escapeHtml(personName(l.from_staff))}</td><td>${L.escapeHtml(personName(l.to_staff))}</td></tr>`).join("");
    const against = c.plan_of_record_id ? "the plan of record" : "nothing (no plan is published yet)";
    el.innerHTML = `<p class="hint">Against ${against}: ${c.moves.length} change${c.moves.length === 1 ? "" : "s"} of person on a piece of work, ` +
      `${c.staffed.length} deal${c.staffed.length === 1 ? "" : "s"} newly staffed, ${c.unstaffed.length} dropped, ${c.lead_changes.length} lead change${c.lead_changes.length === 1 ? "" : "s"}.</p>
      <div class="changes-grid">
        <section aria-label="Deals newly staffed"><h3>Deals newly staffed <span class="count">${c.staffed.length}</span></h3><ul id="ws-staffed">${deals(c.staffed.slice(0, 100))}</ul></section>
        <section aria-label="Deals dropped"><h3>Deals dropped <span class="count">${c.unstaffed.length}</span></h3><ul id="ws-dropped">${deals(c.unstaffed.slice(0, 100))}</ul></section>
      </div>
      <h3>Lead changes <span class="count">${c.lead_changes.length}</span></h3>
      ${leads ? `<div class="scroll"><table id="ws-leads" class="compact"><thead><tr><th>Deal</th><th>Lead before</th><th>Lead after</th></tr></thead><tbody>${leads}</tbody></table></div>` : '<p class="hint">Every deal keeps its lead.</p>'}`;
    el.dataset.staffed = String(c.staffed.length);
    el.dataset.dropped = String(c.unstaffed.length);
    el.dataset.leadChanges = String(c.lead_changes.length);
    const people = new Set(c.moves.flatMap((m) => [m.from_staff, m.to_staff]).filter(Boolean));
    $("#ws-moves-summary").textContent = `Who moves where: ${people.size} people, ${c.moves.length} changes`;
    const moves = c.moves.slice(0, 300).map((m) => `<tr data-kind="${m.kind}"><td>${L.escapeHtml(dealName(m.opportunity_id))}</td><td>${L.escapeHtml(m.demand_id)}</td>` +
      `<td>${L.escapeHtml(personName(m.from_staff))}</td><td>${L.escapeHtml(personName(m.to_staff))}</td><td><span class="tag ${m.kind}">${MOVE_WORDS[m.kind] || m.kind}</span></td></tr>`).join("");
    $("#ws-moves").innerHTML = moves ? `<table class="moves compact"><thead><tr><th>Deal</th><th>Work</th><th>Before</th><th>After</th><th>Change</th></tr></thead><tbody>${moves}</tbody></table>` +
      (c.moves.length > 300 ? `<p class="hint">… and ${c.moves.length - 300} more.</p>` : "") : '<p class="hint">Nobody moves.</p>';
    $("#ws-moves").dataset.people = String(people.size);
    $("#ws-moves").dataset.moves = String(c.moves.length);
  }

  // What publishing does: the proposal's work becomes tentative bookings (except work a confirmed booking
  // holds already), replacing the tentative bookings of the plan of record; confirmed ones stay.
  function publishSummary() {
    const plan = board.proposal;
    const c = board.comparison && board.comparison.plan_id === plan.id ? board.comparison : null;
    const confirmed = new Set(board.bookings.filter((b) => b.status === "confirmed").map((b) => `${b.opportunity_id}|${b.demand_id ?? "lead"}|${b.staff_id}`));
    const work = [...plan.assignments.map((a) => `${a.opportunity_id}|${a.demand_id}|${a.staff_id}`), ...plan.leads.map((l) => `${l.opportunity_id}|lead|${l.staff_id}`)];
    const made = work.filter((k) => !confirmed.has(k)).length;
    const leadsMade = work.filter((k) => k.includes("|lead|") && !confirmed.has(k)).length;
    const replaced = board.bookings.filter((b) => b.status === "tentative").length;
    const kpi = (k) => (k ? `covered value ${L.moneyShort(k.covered_value)}, ${k.filled_slots} slots filled` : "nothing");
    const list = (ids) => (ids.length ? `: ${ids.slice(0, 8).map((id) => L.escapeHtml(dealName(id))).join(", ")}${ids.length > 8 ? ` and ${ids.length - 8} more` : ""}` : "");
    const stale = board.workspace && plan.workspace_revision !== board.workspace.revision;
    return `<p>The proposal (from revision ${plan.workspace_revision}) becomes the plan of record.</p><ul id="publish-changes">
      <li>Before: ${board.record ? kpi(board.record.kpis) : "no plan of record"}; after: ${kpi(plan.kpis)}</li>
      ${c ? `<li data-item="moves">${c.moves.length} change${c.moves.length === 1 ? "" : "s"} of person on a piece of work (${new Set(c.moves.flatMap((m) => [m.from_staff, m.to_staff]).filter(Boolean)).size} people)</li>
      <li data-item="staffed">${c.staffed.length} deal${c.staffed.length === 1 ? "" : "s"} newly staffed${list(c.staffed)}</li>
      <li data-item="dropped">${c.unstaffed.length} deal${c.unstaffed.length === 1 ? "" : "s"} dropped${list(c.unstaffed)}</li>
      <li data-item="leads">${c.lead_changes.length} lead change${c.lead_changes.length === 1 ? "" : "s"}</li>` : ""}
      <li data-item="bookings" data-made="${made}">${made} tentative booking${made === 1 ? "" : "s"} become the plan of record (${made - leadsMade} on work, ${leadsMade} as a deal's lead)${replaced ? `, replacing the ${replaced} tentative booking${replaced === 1 ? "" : "s"} of the plan before` : ""}; ` +
      `${confirmed.size} confirmed booking${confirmed.size === 1 ? "" : "s"} stay as they are</li></ul>` +
      (stale ? `<p class="stale">The workspace changed since this proposal: publishing it will be refused; propose again first.</p>` : "");
  }

  async function publish() {
    const plan = board.proposal;
    $("#publish-dialog").close();
    try {
      const answer = await L.api(`/v1/workspace/plans/${plan.id}/publish`, { method: "POST" });
      board.proposal = null;
      board.comparison = null;
      await loadWorkspace();
      L.setStatus(`Published: proposal ${plan.id.slice(0, 8)} is the plan of record; the workspace is at revision ${answer.revision}.`, "done");
    } catch (error) {
      if (error.status !== 409) throw error;
      L.showError(error, "Not published: ");
      // The 409 names the changes since the proposal; the audit has them in words, oldest first.
      const since = await L.api("/v1/workspace/audit?limit=50").then((page) => page.items.filter((e) => e.revision > plan.workspace_revision).reverse()).catch(() => []);
      if (since.length) {
        const list = document.createElement("ul");
        list.id = "stale-changes";
        list.className = "problems";
        for (const entry of since) {
          const item = document.createElement("li");
          item.textContent = `revision ${entry.revision}: ${entry.summary || entry.action} (${entry.role}, ${entry.created_at.slice(0, 16).replace("T", " ")})`;
          list.append(item);
        }
        $("#status").append(list);
      }
      const again = document.createElement("button");
      again.type = "button";
      again.id = "repropose";
      again.className = "writes";
      again.textContent = "Propose again from the workspace as it is now";
      again.addEventListener("click", () => L.guarded(propose));
      $("#status").append(again);
      again.focus();
    }
  }

  // ------------------------------------------------------------------ the board

  function boardBars() {
    const bars = board.bookings.map((b) => ({ staffId: b.staff_id, start: b.start_week, end: b.end_week, status: b.status, booking: b, deal: b.opportunity_id, lead: b.kind === "lead" }));
    if (board.proposal) {
      const held = new Set(board.bookings.map((b) => `${b.opportunity_id}|${b.demand_id}|${b.staff_id}`));
      const leads = new Set(board.proposal.leads.map((l) => `${l.staff_id}|${l.opportunity_id}`));
      for (const a of board.proposal.assignments) {
        if (!held.has(`${a.opportunity_id}|${a.demand_id}|${a.staff_id}`)) {
          bars.push({ staffId: a.staff_id, start: a.start_week, end: a.end_week, status: "proposed", deal: a.opportunity_id, assignment: a,
            leadsInProposal: leads.has(`${a.staff_id}|${a.opportunity_id}`) });
        }
      }
    }
    // A lead drawn as its own bar beside the same person's work on the deal doubles the row: mark the work ★.
    const who = (b) => `${b.staffId}|${b.deal}`;
    const working = new Set(bars.filter((b) => !b.lead).map(who));
    const leading = new Set(bars.filter((b) => b.lead || b.leadsInProposal).map(who));
    for (const b of bars) if (leading.has(who(b))) b.lead = true;
    const merged = (b) => b.booking && b.booking.kind === "lead" && working.has(who(b));
    return bars.filter((b) => b.start != null && b.end != null && !merged(b));
  }

  function renderLegend(bars) {
    const words = { tentative: "tentative (plan of record)", confirmed: "confirmed (locked)", broken: "broken (no longer allowed)", proposed: "proposed, not booked" };
    $("#board-legend").innerHTML = Object.entries(STATUS_COLORS).map(([status, color]) => {
      const count = bars.filter((b) => b.status === status).length;
      return `<li data-status="${status}" data-count="${count}"><span class="swatch" style="background:${color}"></span>${words[status]} · ${count}</li>`;
    }).join("");
  }

  // One chart for the board's life: ECharts' first init and first drawing are the slow ones (its code warms
  // up), so the chart is made while the workspace is still on its way, and each render only resizes it.
  function boardChart(height) {
    const el = $("#board");
    let chart = echarts.getInstanceByDom(el);
    if (el.style.height !== `${height}px`) {
      el.style.height = `${height}px`;
      if (chart) chart.resize();
    }
    if (!chart) chart = echarts.init(el, null, { renderer: "canvas" });
    return chart;
  }

  // A board of one made-up bar on as many rows as scroll, drawn once: every code path of the real one runs.
  function prepareBoard() {
    if (echarts.getInstanceByDom($("#board"))) return;
    const rows = Array.from({ length: BOARD_ROWS + 1 }, () => "");
    const bar = { staffId: "", deal: "", start: 0, end: 0, row: 0, status: "tentative" };
    boardChart(BOARD_ROWS * 20 + 84).setOption(boardOption([bar], rows, ["", ""]), { notMerge: true });
  }

  function boardOption(bars, rows, weeks) {
    // A long roster scrolls inside the chart (a slider, or the mouse wheel) rather than drawing one canvas
    // thousands of pixels tall: ECharts then lays out and paints only the rows in view.
    const zoomed = rows.length > BOARD_ROWS;
    const statuses = Object.keys(STATUS_COLORS);
    // Every week named up to 16 weeks (ECharts would skip every other one to save room).
    // Past 8 weeks a label takes two lines (`W50` over `7 Dec`), so that 12 or 16 weeks fit side by side.
    const weekAxisLabel = {
      fontSize: 11, color: "#374151", interval: weeks.length <= 16 ? 0 : "auto", hideOverlap: true,
      formatter: weeks.length > 8 ? (label) => label.replace(" · ", "\n") : undefined,
    };
    return {
      animation: false,
      // The legend is the list above the chart (#board-legend), with counts and words.
      grid: { left: L.labelMargin(rows), right: zoomed ? 36 : 12, top: 30, bottom: 30 },
      dataZoom: zoomed ? [
        { type: "slider", yAxisIndex: 0, filterMode: "weakFilter", startValue: 0, endValue: BOARD_ROWS - 1, width: 14, right: 8, top: 30, bottom: 30,
          showDetail: false, brushSelect: false, zoomLock: true },
        { type: "inside", yAxisIndex: 0, filterMode: "weakFilter", zoomOnMouseWheel: false, moveOnMouseWheel: true, moveOnMouseMove: false },
      ] : [],
      tooltip: { trigger: "item", formatter: (p) => barText(bars.filter((b) => b.status === p.seriesName)[p.dataIndex]) },
      xAxis: [
        { type: "value", min: 0, max: weeks.length, interval: 1, axisLabel: { show: false }, splitLine: { lineStyle: { color: "#e5e7eb" } } },
        { type: "category", data: weeks, position: "top", axisTick: { show: false }, axisLabel: weekAxisLabel },
        { type: "category", data: weeks, position: "bottom", axisTick: { show: false }, axisLabel: weekAxisLabel },
      ],
      yAxis: { type: "category", inverse: true, data: rows, axisTick: { show: false }, axisLabel: { interval: 0, fontSize: 11 } },
      series: statuses.map((status) => {
        const mine = bars.filter((b) => b.status === status);
        return {
          type: "custom", name: status, encode: { x: [1, 2], y: 0 },
          data: mine.map((b) => [b.row, b.start, b.end + 1]),
          renderItem(params, api) {
            const b = mine[params.dataIndex];
            const [x0, y] = api.coord([b.start, b.row]);
            const [x1] = api.coord([b.end + 1, b.row]);
            const h = api.size([0, 1])[1] - 4;
            const o = board.dealById && board.dealById.get(b.deal);
            const text = `${b.lead ? "★ " : ""}${dealName(b.deal)}`;
            const room = Math.floor((x1 - x0 - 8) / 6.3);
            return { type: "group", children: [
              { type: "rect", shape: { x: x0 + 1, y: y - h / 2, width: x1 - x0 - 2, height: h, r: 3 }, style: { fill: STATUS_COLORS[status] } },
              room > 3 ? { type: "text", style: { x: x0 + 5, y, verticalAlign: "middle", fill: status === "proposed" ? "#1e1b4b" : "#fff", font: "11px sans-serif",
                text: text.length > room ? `${text.slice(0, room - 1)}…` : text } } : null,
            ].filter(Boolean) };
          },
        };
      }),
    };
  }

  function renderBoard() {
    const bars = boardBars();
    const people = [...new Set(bars.map((b) => b.staffId))].sort((a, b) => (board.staffById.get(a)?.name || a).localeCompare(board.staffById.get(b)?.name || b));
    // A person's overlapping bars go on lanes of their own.
    const rows = [];
    for (const staffId of people) {
      const mine = bars.filter((b) => b.staffId === staffId).sort((a, b) => a.start - b.start);
      const ends = [];
      const first = rows.length;
      for (const bar of mine) {
        let lane = ends.findIndex((end) => end < bar.start);
        if (lane < 0) lane = ends.push(bar.end) - 1;
        else ends[lane] = bar.end;
        bar.row = first + lane;
      }
      const p = board.staffById.get(staffId);
      ends.forEach((_, lane) => rows.push(lane === 0 ? (p ? p.name || staffId : staffId) : ""));
    }
    board.bars = bars;
    const el = $("#board");
    el.dataset.bars = String(bars.length);
    el.dataset.bookings = String(bars.filter((b) => b.booking).length);
    el.dataset.firstWeek = (board.weeks || [])[0] || "";
    renderLegend(bars);
    const chart = boardChart(Math.max(Math.min(rows.length, BOARD_ROWS) * 20 + 84, 180));
    chart.setOption(boardOption(bars, rows, board.weeks || []), { notMerge: true });
    board.chart = chart;
    chart.off("click");
    chart.on("click", (p) => {
      const bar = bars.filter((b) => b.status === p.seriesName)[p.dataIndex];
      if (bar) openBar(bar);
    });
    if ($("#board-list-box").open) renderBoardList();
    renderUnfilled();
  }

  // Bring a row of the board into view (the list's "show" and the browser tests use it).
  board.showRow = (row) => {
    if (!board.chart || !board.chart.getOption().dataZoom.length) return;
    const start = Math.max(0, row - 2);
    board.chart.dispatchAction({ type: "dataZoom", dataZoomIndex: 0, startValue: start, endValue: start + BOARD_ROWS - 1 });
  };

  function barText(bar) {
    if (!bar) return "";
    const p = board.staffById.get(bar.staffId);
    const o = board.dealById.get(bar.deal);
    const what = bar.booking ? (bar.booking.kind === "lead" ? "leads the deal" : bar.booking.demand_id) : bar.assignment.demand_id;
    return `<strong>${L.escapeHtml(p ? p.name || bar.staffId : bar.staffId)}</strong><br>${L.escapeHtml(dealName(bar.deal))} · ${L.escapeHtml(what)}<br>` +
      `${weekText(bar.start)} to ${weekText(bar.end)} · <em>${bar.status}</em>${bar.booking && bar.booking.reason ? `<br>${L.escapeHtml(bar.booking.reason)}` : ""}`;
  }

  // What a click on a bar offers: proposed work can be locked; a tentative booking confirmed or released; a
  // confirmed one released; a broken one only read (its reason says why it no longer holds).
  const ACTIONS = { proposed: ["lock"], tentative: ["confirm", "release"], confirmed: ["release"], broken: [] };

  function openBar(bar) {
    board.openBar = bar;
    const staffId = bar.staffId;
    const dealId = bar.deal;
    $("#booking-title").textContent = `${personName(staffId)} on ${dealName(dealId)}`;
    const b = bar.booking;
    const work = b ? (b.kind === "lead" ? "Leads the deal" : `Work: ${L.escapeHtml(b.demand_id)}, ${b.hours_per_week} h/week`)
      : `Work: ${L.escapeHtml(bar.assignment.demand_id)}, ${L.nf0.format(bar.assignment.hours)} h in all`;
    const status = b ? `<strong>${b.status}</strong>${b.reason ? ` (${L.escapeHtml(b.reason)})` : ""}` :
      "<strong>proposed</strong>: in the proposal, not booked. A lock makes it a confirmed booking that every later proposal keeps.";
    $("#booking-body").innerHTML = `<p>${work}, ${L.escapeHtml(weekText(bar.start))} to ${L.escapeHtml(weekText(bar.end))}.</p><p>Status: ${status}</p>`;
    const actions = ACTIONS[bar.status] || [];
    $("#booking-lock").hidden = !actions.includes("lock") || !seesMoney();
    $("#booking-confirm").hidden = !actions.includes("confirm") || !seesMoney();
    $("#booking-release").hidden = !actions.includes("release") || !seesMoney();
    $("#booking-lead-row").hidden = !(bar.status === "proposed" && bar.leadsInProposal && seesMoney());
    $("#booking-lead").checked = Boolean(bar.leadsInProposal);
    $("#booking-dialog").showModal();
  }

  async function bookingAction(action) {
    const booking = board.openBar.booking;
    $("#booking-dialog").close();
    const answer = await L.api(`/v1/workspace/bookings/${booking.id}/${action}`, { method: "POST" });
    await loadWorkspace();
    L.setStatus(`Booking ${action === "confirm" ? "confirmed: every proposal keeps it" : "released"}; the workspace is at revision ${answer.revision}.`, "done");
  }

  // A lock is a confirmed booking made by hand (POST /v1/workspace/bookings): the next proposal pins it.
  async function lockWork() {
    const bar = board.openBar;
    const a = bar.assignment;
    const withLead = bar.leadsInProposal && $("#booking-lead").checked;
    $("#booking-dialog").close();
    const planId = board.proposal ? board.proposal.id : undefined;
    let answer = await L.api("/v1/workspace/bookings", { method: "POST", body: { opportunity_id: a.opportunity_id, demand_id: a.demand_id, staff_id: a.staff_id, status: "confirmed", plan_id: planId } });
    let leadRefused = null;
    if (withLead) {
      answer = await L.api("/v1/workspace/bookings", { method: "POST", body: { opportunity_id: a.opportunity_id, staff_id: a.staff_id, status: "confirmed", plan_id: planId } })
        .catch((error) => { leadRefused = error; return answer; });
    }
    await loadWorkspace();
    if (leadRefused) {
      L.showError(leadRefused, `The work is locked, the lead is not: `);
      return;
    }
    L.setStatus(`Locked: ${personName(a.staff_id)} on ${dealName(a.opportunity_id)} · ${a.demand_id}${withLead ? " (and as its lead)" : ""}, a confirmed booking; ` +
      `propose again and the lock holds. The workspace is at revision ${answer.revision}.`, "done");
  }

  // The board as a table, for the keyboard and screen readers: one row a bar, with the same buttons.
  function renderBoardList() {
    const words = { lock: "Lock", confirm: "Confirm", release: "Release" };
    const rows = board.bars.slice().sort((x, y) => personName(x.staffId).localeCompare(personName(y.staffId)) || x.start - y.start)
      .map((bar, i) => {
        const what = bar.booking ? (bar.booking.kind === "lead" ? "lead" : bar.booking.demand_id) : bar.assignment.demand_id;
        const buttons = (ACTIONS[bar.status] || []).map((action) => `<button type="button" class="small writes" data-bar="${board.bars.indexOf(bar)}" data-action="${action}" ` +
          `aria-label="${words[action]} ${L.escapeHtml(personName(bar.staffId))} on ${L.escapeHtml(dealName(bar.deal))} ${L.escapeHtml(what)}">${words[action]}</button>`).join(" ");
        return `<tr data-status="${bar.status}" data-row="${i}"><td>${L.escapeHtml(personName(bar.staffId))}</td><td>${L.escapeHtml(dealName(bar.deal))}</td><td>${L.escapeHtml(what)}${bar.lead ? " ★" : ""}</td>` +
          `<td>${L.escapeHtml(weekText(bar.start))} – ${L.escapeHtml(weekText(bar.end))}</td><td>${bar.status}</td><td>${buttons}</td></tr>`;
      }).join("");
    $("#board-list").innerHTML = `<table class="compact"><thead><tr><th>Person</th><th>Deal</th><th>Work</th><th>Weeks</th><th>Status</th><th><span class="writes">Do</span></th></tr></thead><tbody>${rows}</tbody></table>`;
  }

  function boardListAction(button) {
    const bar = board.bars[Number(button.dataset.bar)];
    if (!bar) return;
    board.openBar = bar;
    if (button.dataset.action === "lock") openBar(bar); // the dialog asks about the lead too
    else L.guarded(() => bookingAction(button.dataset.action));
  }

  // ------------------------------------------------------------------ open work and who could do it

  function renderUnfilled() {
    const plan = board.proposal || board.record;
    const el = $("#ws-unfilled");
    if (!plan) {
      el.innerHTML = '<p class="hint">Propose a plan to see the work it leaves open, and why.</p>';
      return;
    }
    const total = plan.unfilled.reduce((sum, u) => sum + u.slots, 0);
    const groups = L.REASONS.map(([reason, title, explain]) => ({ reason, title, explain, items: plan.unfilled.filter((u) => u.reason === reason) }))
      .filter((g) => g.items.length);
    el.dataset.slots = String(total);
    el.dataset.plan = plan.id;
    el.innerHTML = `<h3>Left open in the ${board.proposal ? "proposal" : "plan of record"}: ${total} slot${total === 1 ? "" : "s"}</h3>` +
      groups.map((g) => `<details class="reason" data-reason="${g.reason}"><summary>${L.escapeHtml(g.title)} <span class="count">· ${g.items.reduce((s, u) => s + u.slots, 0)}</span></summary>
        <p class="hint">${L.escapeHtml(g.explain)}</p><ul>${g.items.map((u) => {
          const o = board.dealById.get(u.opportunity_id);
          // Nobody qualified: no one to ask about. Otherwise the candidates say what stands in the way.
          const ask = u.demand_id && u.reason !== "no_qualified_staff" ? ` <button type="button" class="small secondary who" data-opportunity="${L.escapeHtml(u.opportunity_id)}" data-demand="${L.escapeHtml(u.demand_id)}" ` +
            `aria-label="Who could do ${L.escapeHtml(u.demand_id)} of ${L.escapeHtml(dealName(u.opportunity_id))}">Who could do it</button>` : "";
          return `<li data-opportunity="${L.escapeHtml(u.opportunity_id)}" data-demand="${L.escapeHtml(u.demand_id || "")}">${o ? `${L.gradeBadge(o.grade)} ${L.escapeHtml(dealName(o.id))}` : L.escapeHtml(u.opportunity_id)}: ` +
            `${L.escapeHtml(u.demand_id || "lead")} ×${u.slots}${ask}<div class="candidates" aria-live="polite"></div></li>`;
        }).join("")}</ul></details>`).join("");
  }

  // The slot's candidates, asked of the workspace as it is now (POST /v1/recommendations with
  // "request": "workspace"): each re-solved with the person pinned, so its effect is a whole plan's.
  async function whoCouldDoIt(button) {
    const item = button.closest("li");
    const box = item.querySelector(".candidates");
    const { opportunity, demand } = button.dataset;
    button.disabled = true;
    box.innerHTML = '<p class="hint">Asking who could do it (each candidate is a plan re-solved)…</p>';
    box.dataset.state = "asking";
    try {
      const answer = await L.api("/v1/recommendations", { method: "POST", body: { request: "workspace", opportunity_id: opportunity, demand_id: demand, limit: 3, options: { time_limit_s: 5 } } });
      const shown = answer.candidates.slice(0, 5);
      const effect = (c) => {
        if (!c.feasible) return `cannot: ${L.escapeHtml((c.reasons || []).join(", ") || "the rules rule it out")}`;
        const value = c.delta_covered_value_vs_baseline ?? c.delta_covered_value;
        const cost = c.delta_total_cost_vs_baseline ?? c.delta_total_cost;
        const v = value == null ? "" : `covered value ${value >= 0 ? "+" : "−"}${L.moneyShort(Math.abs(value))}`;
        const m = cost == null || !seesMoney() ? "" : `, cost ${cost >= 0 ? "+" : "−"}${L.moneyShort(Math.abs(cost))}`;
        return `${v}${m}${c.resolved || c.on_slot ? "" : " (estimate)"}`;
      };
      box.innerHTML = shown.length ? `<ol class="candidate-list">${shown.map((c) => `<li data-staff="${L.escapeHtml(c.staff_id)}" data-feasible="${c.feasible}" ` +
        `data-delta-value="${c.delta_covered_value_vs_baseline ?? c.delta_covered_value ?? ""}">` +
        `<strong>${L.escapeHtml(c.name || c.staff_id)}</strong> <span class="hint">${L.escapeHtml((L.UNIT_WORDS[c.unit_kind] || c.unit_kind || ""))} ${L.escapeHtml(c.region || "")}, level ${c.skill_level}</span><br>` +
        `<span class="effect">${effect(c)}</span>` +
        (c.feasible && !c.on_slot ? ` <button type="button" class="small writes book" data-opportunity="${L.escapeHtml(opportunity)}" data-demand="${L.escapeHtml(demand)}" data-staff="${L.escapeHtml(c.staff_id)}" ` +
          `aria-label="Book ${L.escapeHtml(c.name || c.staff_id)} on ${L.escapeHtml(demand)} of ${L.escapeHtml(dealName(opportunity))}">Book</button>` : "") +
        (c.note && seesMoney() ? `<details><summary class="hint">why</summary><p class="hint">${L.escapeHtml(c.note)}</p></details>` : "") + "</li>").join("")}</ol>` +
        (answer.candidates.length > shown.length ? `<p class="hint">${answer.candidates.length - shown.length} more qualified.</p>` : "")
        : `<p class="hint">Nobody qualified${answer.note && seesMoney() ? `: ${L.escapeHtml(answer.note)}` : "."}</p>`;
      box.dataset.state = "done";
      box.dataset.candidates = String(answer.candidates.length);
    } catch (error) {
      box.innerHTML = `<p class="hint">Could not ask: ${L.escapeHtml(error.headline || error.message)}</p>`;
      box.dataset.state = "error";
    } finally {
      button.disabled = false;
    }
  }

  // Booking a candidate by hand is a commitment: a confirmed booking (docs/workspace.md says why not tentative).
  async function bookCandidate(button) {
    const { opportunity, demand, staff } = button.dataset;
    const plan = board.proposal || board.record;
    const answer = await L.api("/v1/workspace/bookings", { method: "POST", body: { opportunity_id: opportunity, demand_id: demand, staff_id: staff, status: "confirmed", plan_id: plan ? plan.id : undefined } });
    await loadWorkspace();
    L.setStatus(`Booked ${personName(staff)} on ${dealName(opportunity)} · ${demand} (confirmed); propose again to plan the rest around it. ` +
      `The workspace is at revision ${answer.revision}.`, "done");
  }

  // ------------------------------------------------------------------ start

  function start() {
    for (const id of ["#f-region", "#f-unit", "#f-grade"]) $(id).addEventListener("change", renderTables);
    $("#f-skill").addEventListener("input", renderTables);
    for (const table of ["#staff-table", "#deal-table"]) {
      $(table).addEventListener("click", (event) => {
        const button = event.target.closest("button.sort");
        if (!button) return;
        const [key, direction] = board.sort[button.dataset.kind];
        board.sort[button.dataset.kind] = [button.dataset.key, key === button.dataset.key ? -direction : 1];
        renderTables();
      });
    }
    $("#settings-upload").addEventListener("change", (e) => uploadSettings(e.target));
    $("#staff-upload").addEventListener("change", (e) => upload("staff", e.target));
    $("#deals-upload").addEventListener("change", (e) => upload("opportunities", e.target));
    $("#staff-download").addEventListener("click", (e) => { e.preventDefault(); download("/v1/workspace/staff.csv", "staff.csv").catch((err) => L.showError(err)); });
    $("#deals-download").addEventListener("click", (e) => { e.preventDefault(); download("/v1/workspace/opportunities.csv", "opportunities.csv").catch((err) => L.showError(err)); });
    $("#propose").addEventListener("click", () => L.guarded(propose).then(() => { $("#propose-cancel").hidden = true; }));
    $("#propose-cancel").addEventListener("click", cancelProposal);
    $("#horizon-form").addEventListener("submit", (event) => {
      event.preventDefault();
      L.guarded(setHorizon);
    });
    $("#publish").addEventListener("click", () => {
      $("#publish-body").innerHTML = publishSummary();
      $("#publish-dialog").showModal();
    });
    $("#publish-go").addEventListener("click", () => L.guarded(publish));
    $("#booking-lock").addEventListener("click", () => L.guarded(lockWork));
    $("#booking-confirm").addEventListener("click", () => L.guarded(() => bookingAction("confirm")));
    $("#booking-release").addEventListener("click", () => L.guarded(() => bookingAction("release")));
    window.addEventListener("resize", () => {
      const chart = echarts.getInstanceByDom($("#board"));
      if (chart) chart.resize();
    });
    $("#board-list-box").addEventListener("toggle", () => { if ($("#board-list-box").open) renderBoardList(); });
    $("#board-list").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (button) boardListAction(button);
    });
    $("#ws-unfilled").addEventListener("click", (event) => {
      const who = event.target.closest("button.who");
      if (who) whoCouldDoIt(who);
      const book = event.target.closest("button.book");
      if (book) L.guarded(() => bookCandidate(book));
    });
    document.addEventListener("director:key", refresh);
    refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
