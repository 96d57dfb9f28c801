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

  async function allPages(path) {
    const items = [];
    let cursor = "";
    for (;;) {
      const page = await L.api(`${path}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
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
    const [workspace, staff, deals, bookings] = await Promise.all([
      L.api("/v1/workspace"), allPages("/v1/workspace/staff"), allPages("/v1/workspace/opportunities"),
      allPages("/v1/workspace/bookings"), role,
    ]);
    Object.assign(board, { workspace, staff, deals, bookings: bookings.filter((b) => LIVE.includes(b.status)) });
    board.weeks = weekLabels(workspace.horizon);
    board.staffById = new Map(staff.map((s) => [s.id, s]));
    board.dealById = new Map(deals.map((o) => [o.id, o]));
    // The plan of record (for the comparison and its open work) is the largest answer: draw the rest first.
    const record = workspace.plan_of_record_id && (!board.record || board.record.id !== workspace.plan_of_record_id)
      ? L.api(`/v1/plans/${workspace.plan_of_record_id}`) : Promise.resolve(workspace.plan_of_record_id ? board.record : null);
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
      await loadWorkspace(role);
    } catch (error) {
      L.showError(error, "Could not load the workspace: ");
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

  async function propose() {
    const limit = Number($("#propose-limit").value) || 10;
    const started = Date.now();
    const accepted = await L.api("/v1/workspace/plans?mode=async", { method: "POST", body: { options: { time_limit_s: limit } } });
    board.running = accepted.id;
    $("#propose-cancel").hidden = false;
    $("#propose-cancel").disabled = false;
    try {
      const plan = await L.poll(`/v1/plans/${accepted.id}`, (p) => !["queued", "running"].includes(p.status), (p) => {
        const seconds = Math.round((Date.now() - started) / 1000);
        const figures = p.objective ? ` · covered value ${L.moneyShort(p.objective.covered_value)}` : "";
        $("#ws-progress").textContent = `Proposal ${accepted.id.slice(0, 8)}: ${L.STATUS_WORDS[p.status] || p.status}, ${seconds} s of at most ${limit} s${figures}`;
      });
      const seconds = Math.round((Date.now() - started) / 1000);
      if (!plan.assignments) throw new Error(`The proposal has no plan: ${plan.status}${plan.explanation ? `: ${plan.explanation.detail}` : plan.detail ? `, ${plan.detail}` : ""}`);
      board.proposal = plan;
      $("#ws-progress").textContent = `Proposal ${plan.id.slice(0, 8)} from revision ${plan.workspace_revision}: ` +
        `${L.STATUS_WORDS[plan.status] || plan.status}${plan.cancelled ? " (stopped early, best plan kept)" : ""}, in ${seconds} s.`;
      renderProposal();
      renderBoard();
      L.setStatus(`Proposal ${plan.id.slice(0, 8)} is ready: compare it with the plan of record, then publish it.`, "done");
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

  // Who is on which work slot: (deal, demand, person) keys of the assignments, and the leads.
  function workKeys(plan) {
    if (!plan) return new Set();
    return new Set([...plan.assignments.map((a) => `${a.opportunity_id}|${a.demand_id}|${a.staff_id}`),
      ...plan.leads.map((l) => `${l.opportunity_id}|lead|${l.staff_id}`)]);
  }

  function moves() {
    const now = workKeys(board.proposal);
    const before = workKeys(board.record);
    const words = (key) => {
      const [deal, demand, staffId] = key.split("|");
      const person = board.staffById.get(staffId);
      const o = board.dealById.get(deal);
      return { staffId, who: person ? person.name || staffId : staffId, what: `${o ? o.name || deal : deal} · ${demand === "lead" ? "lead" : demand}` };
    };
    return {
      on: [...now].filter((k) => !before.has(k)).map(words),
      off: [...before].filter((k) => !now.has(k)).map(words),
    };
  }

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
    const m = moves();
    const people = new Set([...m.on, ...m.off].map((x) => x.staffId));
    $("#ws-moves-summary").textContent = `Who moves: ${people.size} people, ${m.on.length} new pieces of work, ${m.off.length} given up` +
      (record ? "" : " (nothing is published yet: all of it is new)");
    const list = (items, sign) => items.slice(0, 200).map((x) => `<li>${sign} ${L.escapeHtml(x.who)}: ${L.escapeHtml(x.what)}</li>`).join("");
    $("#ws-moves").innerHTML = `<ul class="moves-list">${list(m.on, "+")}${list(m.off, "−")}</ul>`;
    $("#ws-moves").dataset.people = String(people.size);
  }

  function publishSummary() {
    const m = moves();
    const plan = board.proposal;
    const kpi = (k) => (k ? `covered value ${L.moneyShort(k.covered_value)}, ${k.filled_slots} slots filled` : "nothing");
    return `<p>The proposal (from revision ${plan.workspace_revision}) becomes the plan of record.</p><ul>
      <li>Before: ${board.record ? kpi(board.record.kpis) : "no plan of record"}; after: ${kpi(plan.kpis)}</li>
      <li>${m.on.length} pieces of work booked (tentative), ${m.off.length} of the plan of record given up</li>
      <li>${new Set([...m.on, ...m.off].map((x) => x.staffId)).size} people see their work change; confirmed bookings stay as they are</li></ul>`;
  }

  async function publish() {
    const plan = board.proposal;
    $("#publish-dialog").close();
    try {
      const answer = await L.api(`/v1/workspace/plans/${plan.id}/publish`, { method: "POST" });
      board.proposal = null;
      await loadWorkspace();
      L.setStatus(`Published: proposal ${plan.id.slice(0, 8)} is the plan of record; the workspace is at revision ${answer.revision}.`, "done");
    } catch (error) {
      if (error.status !== 409) throw error;
      L.showError(error, "Not published: ");
      const again = document.createElement("button");
      again.type = "button";
      again.id = "repropose";
      again.textContent = "Propose again from the workspace as it is now";
      again.addEventListener("click", () => L.guarded(propose));
      $("#status").append(" ", again);
    }
  }

  // ------------------------------------------------------------------ the board

  function boardBars() {
    const bars = board.bookings.map((b) => ({ staffId: b.staff_id, start: b.start_week, end: b.end_week, status: b.status, booking: b, deal: b.opportunity_id, lead: b.kind === "lead" }));
    if (board.proposal) {
      const held = new Set(board.bookings.map((b) => `${b.opportunity_id}|${b.demand_id}|${b.staff_id}`));
      for (const a of board.proposal.assignments) {
        if (!held.has(`${a.opportunity_id}|${a.demand_id}|${a.staff_id}`)) {
          bars.push({ staffId: a.staff_id, start: a.start_week, end: a.end_week, status: "proposed", deal: a.opportunity_id, assignment: a });
        }
      }
    }
    // A lead drawn as its own bar beside the same person's work on the deal doubles the row: mark the work ★.
    const who = (b) => `${b.staffId}|${b.deal}`;
    const working = new Set(bars.filter((b) => !b.lead).map(who));
    const leading = new Set(bars.filter((b) => b.lead).map(who));
    for (const b of bars) if (leading.has(who(b))) b.lead = true;
    const merged = (b) => b.booking && b.booking.kind === "lead" && working.has(who(b));
    return bars.filter((b) => b.start != null && b.end != null && !merged(b));
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
    const weeks = board.weeks || [];
    const chart = L.chartIn("#board", Math.max(rows.length * 20 + 110, 200));
    const statuses = Object.keys(STATUS_COLORS);
    // Every week named up to 16 weeks (ECharts would skip every other one to save room).
    const weekAxisLabel = { fontSize: 11, color: "#374151", interval: weeks.length <= 16 ? 0 : "auto" };
    chart.setOption({
      animation: false,
      legend: { top: 0, data: statuses.map((s) => ({ name: s, itemStyle: { color: STATUS_COLORS[s] } })) },
      grid: { left: L.labelMargin(rows), right: 12, top: 56, bottom: 30 },
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
            const o = board.dealById.get(b.deal);
            const text = `${b.lead ? "★ " : ""}${o ? o.name || b.deal : b.deal}`;
            const room = Math.floor((x1 - x0 - 8) / 6.3);
            return { type: "group", children: [
              { type: "rect", shape: { x: x0 + 1, y: y - h / 2, width: x1 - x0 - 2, height: h, r: 3 }, style: { fill: STATUS_COLORS[status] } },
              room > 3 ? { type: "text", style: { x: x0 + 5, y, verticalAlign: "middle", fill: status === "proposed" ? "#1e1b4b" : "#fff", font: "11px sans-serif",
                text: text.length > room ? `${text.slice(0, room - 1)}…` : text } } : null,
            ].filter(Boolean) };
          },
        };
      }),
    });
    chart.on("click", (p) => {
      const bar = bars.filter((b) => b.status === p.seriesName)[p.dataIndex];
      if (bar && bar.booking) openBooking(bar.booking);
    });
    renderUnfilled();
  }

  function barText(bar) {
    if (!bar) return "";
    const p = board.staffById.get(bar.staffId);
    const o = board.dealById.get(bar.deal);
    const what = bar.booking ? (bar.booking.kind === "lead" ? "leads the deal" : bar.booking.demand_id) : bar.assignment.demand_id;
    return `<strong>${L.escapeHtml(p ? p.name || bar.staffId : bar.staffId)}</strong><br>${L.escapeHtml(o ? o.name || bar.deal : bar.deal)} · ${L.escapeHtml(what)}<br>` +
      `${weekText(bar.start)} to ${weekText(bar.end)} · <em>${bar.status}</em>${bar.booking && bar.booking.reason ? `<br>${L.escapeHtml(bar.booking.reason)}` : ""}`;
  }

  function openBooking(booking) {
    board.openBooking = booking;
    const p = board.staffById.get(booking.staff_id);
    const o = board.dealById.get(booking.opportunity_id);
    $("#booking-title").textContent = `${p ? p.name || booking.staff_id : booking.staff_id} on ${o ? o.name || booking.opportunity_id : booking.opportunity_id}`;
    $("#booking-body").innerHTML = `<p>${booking.kind === "lead" ? "Leads the deal" : `Work: ${L.escapeHtml(booking.demand_id)}, ${booking.hours_per_week} h/week`}, ` +
      `${L.escapeHtml(weekText(booking.start_week))} to ${L.escapeHtml(weekText(booking.end_week))}.</p>` +
      `<p>Status: <strong>${booking.status}</strong>${booking.reason ? ` (${L.escapeHtml(booking.reason)})` : ""}</p>`;
    $("#booking-confirm").hidden = booking.status !== "tentative" || !seesMoney();
    $("#booking-release").hidden = !seesMoney();
    $("#booking-dialog").showModal();
  }

  async function bookingAction(action) {
    const booking = board.openBooking;
    $("#booking-dialog").close();
    const answer = await L.api(`/v1/workspace/bookings/${booking.id}/${action}`, { method: "POST" });
    await loadWorkspace();
    L.setStatus(`Booking ${action === "confirm" ? "confirmed: every proposal keeps it" : "released"}; the workspace is at revision ${answer.revision}.`, "done");
  }

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
    el.innerHTML = `<h3>Left open in the ${board.proposal ? "proposal" : "plan of record"}: ${total} slot${total === 1 ? "" : "s"}</h3>` +
      groups.map((g) => `<details class="reason" data-reason="${g.reason}"><summary>${L.escapeHtml(g.title)} <span class="count">· ${g.items.reduce((s, u) => s + u.slots, 0)}</span></summary>
        <p class="hint">${L.escapeHtml(g.explain)}</p><ul>${g.items.map((u) => {
          const o = board.dealById.get(u.opportunity_id);
          return `<li>${o ? `${L.gradeBadge(o.grade)} ${L.escapeHtml(o.name || o.id)}` : L.escapeHtml(u.opportunity_id)}: ${L.escapeHtml(u.demand_id || "lead")} ×${u.slots}</li>`;
        }).join("")}</ul></details>`).join("");
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
    $("#booking-confirm").addEventListener("click", () => L.guarded(() => bookingAction("confirm")));
    $("#booking-release").addEventListener("click", () => L.guarded(() => bookingAction("release")));
    window.addEventListener("resize", () => {
      const chart = echarts.getInstanceByDom($("#board"));
      if (chart) chart.resize();
    });
    document.addEventListener("director:key", refresh);
    refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
