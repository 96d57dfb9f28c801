// The presales director's page: picks a stored plan or runs a what-if scenario through the public API,
// then draws the plan (Gantt, utilization heatmap, budgets, unfilled work) and compares the variants.
// Plain browser JavaScript and Apache ECharts; the state is on window.director for tests and curious users.
"use strict";

(() => {
  const KEY_STORAGE = "presales-allocator.api-key";
  const GRADES = ["A", "B", "C", "D", "E"];
  const GRADE_COLORS = { A: "#1e40af", B: "#0e7490", C: "#15803d", D: "#b45309", E: "#6b7280" };
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const UNIT_WORDS = { delivery_center: "delivery center", local_office: "local office", hotline: "hotline" };
  const STATUS_WORDS = {
    optimal: "Best possible plan (proven)",
    feasible: "Valid plan, not proven best in the time allowed",
    infeasible: "No plan: the fixed assignments cannot all hold",
    unknown: "No plan found in the time allowed",
    queued: "Waiting to be solved",
    running: "Being solved",
    failed: "Failed",
    cancelled: "Cancelled",
  };
  const REASONS = [
    ["no_qualified_staff", "Nobody qualified",
      "No one has the skill at the level needed in a unit allowed to serve this grade and region, or everyone who does is excluded."],
    ["no_lead", "Nobody can lead the deal",
      "People could do the work, but none of them may lead this deal (lead role, unit, or no hours left for leading)."],
    ["over_budget", "Over the deal's budget",
      "Even the cheapest qualified person plus a lead would cost more than the deal's presales budget."],
    ["no_capacity", "Nobody has the hours",
      "No qualified person has enough free hours in every week of this work, even before any other work is planned."],
    ["outranked", "Went to more valuable work",
      "Possible on its own, but the people who could do it are worth more on other deals."],
  ];
  const MOVE_WORDS = {
    replaced: "Replaced", filled: "Newly staffed", unfilled: "Left open", slot_removed: "Deal removed", slot_added: "New deal",
  };

  const state = {
    scenario: null, // the scenario comparison (GET /v1/scenarios/{id}) when one is shown
    sides: [], // [{label, planId, plan, request}] base first, then the variants; or one stored plan
    current: -1, // index into sides of the plan drawn below
    charts: {}, // what each chart drew: {gantt: {bars, people}, heatmap: {...}, budget: {...}, unfilled: {...}}
    busy: false,
  };
  window.director = state;
  // What the workspace board (board.js) shares with this page; filled in below, as the functions are defined.
  state.lib = {};

  const $ = (selector) => document.querySelector(selector);
  const nf0 = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
  const nfCompact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 });
  const money = (v) => nf0.format(v);
  const moneyShort = (v) => (Math.abs(v) >= 1e5 ? nfCompact.format(v) : nf0.format(v));
  const percent = (v, digits = 1) => `${(v * 100).toFixed(digits)}%`;
  const escapeHtml = (text) => String(text ?? "").replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  // ------------------------------------------------------------------ weeks as dates

  // One convention on every tab, as the API's texts say it: week w of a horizon is named by its dates,
  // "W48 · 23 Nov" (the ISO week of horizon.start + w weeks, and that day), never "week 3" or "W4".
  function isoWeek(day) {
    const d = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
    d.setUTCDate(d.getUTCDate() + 4 - (d.getUTCDay() || 7));
    const yearStart = new Date(Date.UTC(d.getUTCFullYear(), 0, 1));
    return Math.ceil(((d - yearStart) / 86400000 + 1) / 7);
  }
  function weekLabels(horizon) {
    const start = new Date(`${horizon.start}T00:00:00Z`);
    return Array.from({ length: horizon.weeks }, (_, w) => {
      const day = new Date(start.getTime() + w * 7 * 86400000);
      return `W${isoWeek(day)} · ${day.getUTCDate()} ${MONTHS[day.getUTCMonth()]}`;
    });
  }
  // "W48 · 23 Nov", or "W48 · 23 Nov – W51 · 14 Dec" for weeks from..to of the given labels.
  function weekRange(labels, from, to) {
    const name = (w) => labels[w] || `week ${w}`;
    return from === to ? name(from) : `${name(from)} – ${name(to)}`;
  }

  // ------------------------------------------------------------------ the API

  function apiKey() {
    return localStorage.getItem(KEY_STORAGE) || "";
  }

  // Where a field error of a 422 is: its path, and for a scenario the name of the variant it is in.
  const errorPath = (e) => e.path || "the whole document";
  const errorVariant = (e) => (e.variant ? ` (variant “${e.variant}”)` : "");

  // The first line of a failed call's message. A 422 names every offending field in `errors`, and its
  // `detail` may already sum some of them up (a scenario's names the first three): with `errors`, the
  // headline only counts them and the list below says each one, once.
  function problemHeadline(status, body, errors) {
    if (body && typeof body === "object") {
      const title = body.title || `HTTP ${status}`;
      if (errors.length) return `${title} — ${errors.length} problem${errors.length === 1 ? "" : "s"}:`;
      return body.detail || title;
    }
    return `the server answered ${status}`;
  }

  // An Error for a failed call: `headline` and `fieldErrors` to show as a list, `message` all in one line.
  function problemError(status, body) {
    const errors = body && typeof body === "object" && Array.isArray(body.errors) ? body.errors : [];
    const headline = problemHeadline(status, body, errors);
    const lines = errors.map((e) => `${errorPath(e)}${errorVariant(e)}: ${e.message}`);
    const error = new Error(lines.length ? `${headline} ${lines.join("; ")}` : headline);
    error.status = status;
    error.headline = headline;
    error.fieldErrors = errors;
    return error;
  }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json" };
    if (apiKey()) headers["X-API-Key"] = apiKey();
    const init = { method: options.method || "GET", headers };
    if (options.body !== undefined) {
      headers["Content-Type"] = options.contentType || "application/json";
      init.body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    if (!response.ok) {
      if (response.status === 401) keyNeeded();
      throw problemError(response.status, body);
    }
    return body;
  }

  // Every item of a paginated list (`items`, `next_cursor`), page by page.
  async function allPages(path) {
    const items = [];
    let cursor = "";
    for (;;) {
      const page = await api(`${path}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      items.push(...page.items);
      if (!page.next_cursor) return items;
      cursor = page.next_cursor;
    }
  }

  // Poll `path` about once a second until `done(body)`; `progress(body, seconds)` reports in between.
  async function poll(path, done, progress, timeoutS = 900) {
    const started = Date.now();
    for (;;) {
      const body = await api(path);
      const seconds = Math.round((Date.now() - started) / 1000);
      if (done(body)) return body;
      if (seconds > timeoutS) throw new Error(`still not finished after ${timeoutS} s`);
      progress(body, seconds);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  // ------------------------------------------------------------------ status line and key

  // The status line; `fieldErrors` (a 422's) are listed under it, one line each: where, then what.
  function setStatus(text, kind = "", fieldErrors = []) {
    const el = $("#status");
    el.textContent = text;
    if (fieldErrors.length) {
      const list = document.createElement("ul");
      list.className = "problems";
      for (const e of fieldErrors) {
        const item = document.createElement("li");
        const place = document.createElement("code");
        place.textContent = errorPath(e);
        item.append(place, `${errorVariant(e)}: ${e.message}`);
        list.append(item);
      }
      el.append(list);
    }
    el.className = `status ${kind}`;
    el.dataset.kind = kind || "idle";
  }

  function showError(error, prefix = "") {
    setStatus(prefix + (error.headline || error.message), "error", error.fieldErrors || []);
  }

  function keyNeeded() {
    $("#key-form").classList.add("needed");
    $("#key-state").textContent = apiKey() ? "key refused" : "key needed";
  }

  function setupKey() {
    $("#api-key").value = apiKey();
    $("#key-state").textContent = apiKey() ? "key saved" : "";
    $("#key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("#api-key").value.trim();
      if (key) localStorage.setItem(KEY_STORAGE, key);
      else localStorage.removeItem(KEY_STORAGE);
      $("#key-form").classList.remove("needed");
      $("#key-state").textContent = key ? "key saved" : "key removed";
      if (!state.busy) setStatus("");
      refreshLists();
      reopenAsThisKey();
      document.dispatchEvent(new CustomEvent("director:key"));
    });
  }

  // ------------------------------------------------------------------ lists to choose from

  function fillSelect(select, options, emptyText) {
    select.innerHTML = "";
    if (!options.length) {
      select.append(new Option(emptyText, ""));
      return;
    }
    for (const [value, text] of options) select.append(new Option(text, value));
  }

  const when = (stamp) => new Date(stamp).toLocaleString("en-GB", {
    day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });

  // The what-if tab's lists are asked for when that tab is first shown, and again when it is shown after
  // something made them stale (a new key): the Workspace tab opens first and loads faster without them.
  function refreshLists() {
    if (document.body.dataset.view === "whatif") return loadLists();
    state.listsStale = true;
    return Promise.resolve();
  }

  async function loadLists() {
    state.listsStale = false;
    const jobs = [
      api("/ui/scenario-files").then((files) => {
        fillSelect($("#scenario-file"), files.map((f) => [f.file,
          `${f.name} — ${f.variants.length} variant${f.variants.length === 1 ? "" : "s"}, ` +
          `${f.staff} people, ${f.opportunities} deals, ${f.weeks} weeks`]), "No scenario files on this server");
        state.scenarioFiles = files;
      }),
      api("/v1/scenarios?limit=50").then((page) => {
        fillSelect($("#stored-scenario"), page.items.map((s) => [s.id,
          `${when(s.created_at)} · ${s.name} (${s.variants.length} variant${s.variants.length === 1 ? "" : "s"}, ${s.status})`]),
        "No scenarios yet");
      }),
      api("/v1/plans?limit=50").then((page) => {
        fillSelect($("#stored-plan"), page.items.map((p) => [p.id,
          `${when(p.created_at)} · ${p.status}${p.cancelled && p.status !== "cancelled" ? " (stopped by a cancel)" : ""}` +
          (p.covered_value != null ? ` · covered value ${moneyShort(p.covered_value)}` : "") +
          (p.total_cost != null ? `, cost ${moneyShort(p.total_cost)}` : "") +
          ` · ${p.id.slice(0, 8)}`]), "No plans yet");
      }),
    ];
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      for (const id of ["#scenario-file", "#stored-scenario", "#stored-plan"]) {
        if ($(id).options.length === 1 && $(id).options[0].text === "Loading…") fillSelect($(id), [], "Not available");
      }
      if (failed.reason.status === 401) {
        setStatus("This server needs an API key: enter it at the top right and press “Save key”.", "error");
      } else {
        showError(failed.reason, "Could not load the lists: ");
      }
    }
  }

  // ------------------------------------------------------------------ running and opening

  async function scenarioDocument() {
    const pasted = $("#scenario-json").value.trim();
    if (pasted) {
      try {
        return { document: JSON.parse(pasted), source: "the pasted JSON" };
      } catch (error) {
        throw new Error(`The pasted or uploaded text is not valid JSON: ${error.message}`);
      }
    }
    const file = $("#scenario-file").value;
    if (!file) throw new Error("choose a scenario file, or upload or paste one");
    return { document: await api(`/ui/scenario-files/${encodeURIComponent(file)}`), source: file };
  }

  function withTimeLimit(request) {
    const limit = Number($("#time-limit").value);
    if (limit > 0) request.options = { ...(request.options || {}), time_limit_s: limit };
    return request;
  }

  async function guarded(work) {
    if (state.busy) return;
    state.busy = true;
    setStatus("Working…", "busy");
    const focused = document.activeElement;
    for (const button of document.querySelectorAll("button")) button.disabled = true;
    try {
      await work();
    } catch (error) {
      showError(error);
    } finally {
      state.busy = false;
      for (const button of document.querySelectorAll("button")) button.disabled = false;
      // Disabling the buttons took the keyboard's focus away: give it back to the control that had it.
      const lost = !document.activeElement || document.activeElement === document.body;
      if (lost && focused instanceof HTMLElement && focused !== document.body && focused.isConnected) focused.focus();
    }
  }

  async function runScenario() {
    const { document: doc, source } = await scenarioDocument();
    if (!doc.variants && doc.staff && doc.opportunities) return solveRequest(withTimeLimit(doc), source);
    if (!doc.base || !Array.isArray(doc.variants)) throw new Error(`${source} is neither a scenario nor an allocation request`);
    withTimeLimit(doc.base);
    setStatus(`Sending “${doc.name}”…`, "busy");
    const accepted = await api("/v1/scenarios?mode=async", { method: "POST", body: doc });
    await showScenario(accepted.id);
    loadLists();
  }

  async function solveRequest(request, source) {
    setStatus(`Solving ${source}…`, "busy");
    const accepted = await api("/v1/plans?mode=async", { method: "POST", body: request });
    await showPlan(accepted.id);
    loadLists();
  }

  function sideWords(side, name) {
    return `${name}: ${side.status}`;
  }

  // What the what-if tab shows was read with the key before: take it down, and read it again with the new key
  // (a viewer's answer has no rate or cost; another tenant's key finds nothing).
  function reopenAsThisKey() {
    const shown = state.scenario ? ["scenario", state.scenario.id] : state.sides?.length ? ["plan", state.sides[0].planId] : null;
    state.scenario = null;
    state.sides = [];
    $("#comparison").hidden = true;
    $("#plan").hidden = true;
    if (!shown) return;
    history.replaceState(null, "", location.pathname);
    guarded(() => (shown[0] === "scenario" ? showScenario(shown[1]) : showPlan(shown[1])));
  }

  async function showScenario(id) {
    const scenario = await poll(`/v1/scenarios/${id}`, (s) => s.status === "done" || s.status === "failed", (s, seconds) => {
      const parts = [sideWords(s.base, "base"), ...s.variants.map((v) => sideWords(v, `“${v.name}”`))];
      setStatus(`Solving “${s.name}” (${seconds} s): ${parts.join(", ")}`, "busy");
    });
    if (scenario.status === "failed") throw new Error(`The scenario failed: ${scenario.detail}`);
    setStatus(`Loading the plans of “${scenario.name}”…`, "busy");
    const sides = [{ label: "Base", planId: scenario.base.plan_id },
      ...scenario.variants.map((v) => ({ label: v.name, planId: v.plan_id }))];
    await Promise.all(sides.map(async (side) => {
      [side.plan, side.request] = await Promise.all([api(`/v1/plans/${side.planId}`), api(`/v1/plans/${side.planId}/request`)]);
      side.index = indexRequest(side.request);
    }));
    state.scenario = scenario;
    state.sides = sides;
    history.replaceState(null, "", `#scenario=${scenario.id}`);
    renderComparison();
    selectSide(0);
    setStatus(`“${scenario.name}”: base and ${scenario.variants.length} variant${scenario.variants.length === 1 ? "" : "s"} solved and compared.`, "done");
  }

  async function showPlan(id) {
    const plan = await poll(`/v1/plans/${id}`, (p) => !["queued", "running"].includes(p.status), (p, seconds) => {
      setStatus(`Solving (${seconds} s): ${STATUS_WORDS[p.status] || p.status}…`, "busy");
    });
    if (!plan.assignments) throw new Error(`This plan has no result: ${plan.status}${plan.detail ? `, ${plan.detail}` : ""}`);
    const request = await api(`/v1/plans/${id}/request`);
    state.scenario = null;
    state.sides = [{ label: "Plan", planId: id, plan, request, index: indexRequest(request) }];
    history.replaceState(null, "", `#plan=${id}`);
    $("#comparison").hidden = true;
    selectSide(0);
    setStatus(`Plan ${id.slice(0, 8)}: ${STATUS_WORDS[plan.status] || plan.status}; ${request.horizon.weeks} weeks from ${request.horizon.start}.`, "done");
  }

  // ------------------------------------------------------------------ names from the request

  function indexRequest(request) {
    const staff = new Map(request.staff.map((s) => [s.id, s]));
    const opportunities = new Map(request.opportunities.map((o) => [o.id, o]));
    const demands = new Map();
    for (const o of request.opportunities) for (const d of o.demands) demands.set(`${o.id}/${d.id}`, d);
    return { request, staff, opportunities, demands, weeks: request.horizon.weeks, weekLabels: weekLabels(request.horizon) };
  }

  // Look a name up in the given indexes in turn (a variant's request, then the base's).
  function person(indexes, id) {
    for (const ix of indexes) if (ix.staff.has(id)) return ix.staff.get(id);
    return null;
  }
  function personName(indexes, id) {
    const p = person(indexes, id);
    return p ? p.name || id : id;
  }
  function unitWords(p) {
    return p.unit.kind === "local_office" ? `${p.unit.region} office` : UNIT_WORDS[p.unit.kind] || p.unit.kind;
  }
  function personLabel(indexes, id) {
    const p = person(indexes, id);
    return p ? `${p.name || id} (${unitWords(p)})` : id;
  }
  // Name on one line, unit underneath, for table cells.
  function personCell(indexes, id) {
    if (!id) return "<em>nobody</em>";
    const p = person(indexes, id);
    return p ? `${escapeHtml(p.name || id)}<br><span class="hint">${escapeHtml(unitWords(p))}</span>` : escapeHtml(id);
  }
  function deal(indexes, id) {
    for (const ix of indexes) if (ix.opportunities.has(id)) return ix.opportunities.get(id);
    return null;
  }
  function dealName(indexes, id) {
    const o = deal(indexes, id);
    return o ? o.name || id : id;
  }
  // Deal names repeat across customers, so a deal is named with its customer wherever it is listed.
  function dealLabel(indexes, id) {
    const o = deal(indexes, id);
    return o && o.customer ? `${o.name || id} (${o.customer})` : dealName(indexes, id);
  }
  function dealCell(indexes, id) {
    const o = deal(indexes, id);
    if (!o) return escapeHtml(id);
    return `${gradeBadge(o.grade)} ${escapeHtml(o.name || id)}<br><span class="hint">${escapeHtml(o.customer || "")}</span>`;
  }
  function workCell(indexes, opportunityId, demandId) {
    for (const ix of indexes) {
      const d = ix.demands.get(`${opportunityId}/${demandId}`);
      if (d) {
        return `${escapeHtml(d.skill)} (level ${d.min_level}+)<br><span class="hint">${d.hours_per_week} h/week, ${weekRange(ix.weekLabels, d.start_week, d.end_week)}</span>`;
      }
    }
    return escapeHtml(demandId);
  }
  // The engine's explanations name people and deals by id (and weeks by their dates, as the page does).
  function humanDetail(text, indexes) {
    return String(text || "")
      .replace(/[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9]/g, (token) => {
        if (person(indexes, token)) return personName(indexes, token);
        if (deal(indexes, token)) return `“${dealName(indexes, token)}”`;
        return token;
      });
  }
  function weekSpan(ix, from, to) {
    return from === to ? `week ${weekRange(ix.weekLabels, from, to)}` : `weeks ${weekRange(ix.weekLabels, from, to)}`;
  }
  function workLabel(indexes, opportunityId, demandId) {
    for (const ix of indexes) {
      const d = ix.demands.get(`${opportunityId}/${demandId}`);
      if (d) return `${d.skill} (level ${d.min_level}+), ${d.hours_per_week} h/week, ${weekSpan(ix, d.start_week, d.end_week)}`;
    }
    return demandId;
  }
  function gradeBadge(grade) {
    return `<span class="grade" style="background:${GRADE_COLORS[grade] || "#999"}" title="grade ${grade}">${escapeHtml(grade)}</span>`;
  }
  function capacityOf(staff, week) {
    return Array.isArray(staff.capacity_hours) ? staff.capacity_hours[week] : staff.capacity_hours;
  }

  // ------------------------------------------------------------------ the comparison

  const KPI_ROWS = [
    { label: "Covered value (expected deal value staffed, weighted by grade)", get: (k) => k.covered_value, show: moneyShort, delta: (d) => d.covered_value, better: 1, kind: "money" },
    { label: "Total internal cost of presales hours", get: (k) => k.total_cost, show: money, delta: (d) => d.total_cost, better: -1, kind: "money" },
    { label: "Coverage (share of the possible value)", get: (k) => k.coverage, show: (v) => percent(v), delta: (d) => d.coverage, better: 1, kind: "share" },
    ...GRADES.map((g) => ({
      label: `Coverage of grade ${g} deals`, sub: true, grade: g,
      get: (k) => k.coverage_by_grade[g], show: (v) => (v == null ? "–" : percent(v)), delta: (d) => d.coverage_by_grade[g], better: 1, kind: "share",
    })),
    { label: "Deals staffed", get: (k) => k.staffed_opportunities, show: nf0.format, delta: (d) => d.staffed_opportunities, better: 1, kind: "count" },
    { label: "Work slots filled", get: (k) => k.filled_slots, show: nf0.format, delta: (d) => d.filled_slots, better: 1, kind: "count" },
    { label: "Work slots left open", get: (k) => k.unfilled_slots, show: nf0.format, delta: (d) => d.unfilled_slots, better: -1, kind: "count" },
    { label: "Average utilization of people", get: (k) => k.utilization, show: (v) => percent(v), delta: (d) => d.utilization, better: 0, kind: "share" },
    { label: "Plan quality", get: (k) => k.status, show: (v) => STATUS_WORDS[v] || v, delta: null },
  ];

  function deltaHtml(row, value) {
    if (value == null) return "";
    const same = Math.abs(value) < (row.kind === "share" ? 0.0005 : 0.005);
    const sign = value > 0 ? "+" : "−";
    let text;
    if (same) text = "no change";
    else if (row.kind === "money") text = `${sign}${moneyShort(Math.abs(value))}`;
    else if (row.kind === "share") text = `${sign}${(Math.abs(value) * 100).toFixed(1)} pts`;
    else text = `${sign}${nf0.format(Math.abs(value))}`;
    const tone = same || row.better === 0 ? "same" : (value * row.better > 0 ? "good" : "bad");
    return `<span class="delta ${tone}" data-delta="${value}">${text}</span>`;
  }

  function renderComparison() {
    const scenario = state.scenario;
    $("#comparison").hidden = false;
    $("#comparison-title").textContent = `Variants side by side: ${scenario.name}`;
    const grades = new Set(Object.keys(scenario.base.kpis.coverage_by_grade));
    for (const v of scenario.variants) for (const g of Object.keys(v.kpis.coverage_by_grade)) grades.add(g);
    // A viewer's KPIs come without costs (CONTRACT v2, roles): a measure the answer leaves out is not shown.
    const rows = KPI_ROWS.filter((row) => (!row.grade || grades.has(row.grade)) && row.get(scenario.base.kpis) !== undefined);
    const head = `<thead><tr><th>Measure</th><th class="num">Base</th>${scenario.variants.map((v) => `<th class="num">${escapeHtml(v.name)}</th>`).join("")}</tr></thead>`;
    const body = rows.map((row) => {
      const cells = scenario.variants.map((v) => {
        const shown = row.show(row.get(v.kpis));
        return `<td class="num" data-value="${escapeHtml(row.get(v.kpis))}">${escapeHtml(shown)}${row.delta ? deltaHtml(row, row.delta(v.deltas)) : ""}</td>`;
      });
      const base = row.get(scenario.base.kpis);
      return `<tr class="${row.sub ? "sub" : ""}"><td>${escapeHtml(row.label)}</td><td class="num" data-value="${escapeHtml(base)}">${escapeHtml(row.show(base))}</td>${cells.join("")}</tr>`;
    }).join("");
    $("#kpi-table").innerHTML = head + `<tbody>${body}</tbody>`;
    $("#kpi-table").dataset.variants = String(scenario.variants.length);
    $("#variant-changes").innerHTML = scenario.variants.map((v, i) => variantHtml(v, i)).join("");
  }

  function changeWords(change, indexes) {
    const who = (id) => `${personName(indexes, id)} (${id})`;
    const what = (id) => `“${dealName(indexes, id)}” (${id})`;
    switch (change.op) {
      case "add_staff": {
        const s = change.staff;
        return `Hire ${s.name || s.id} (${s.id}): ${(s.role || "").replace(/_/g, " ")}, ${UNIT_WORDS[s.unit.kind]} ${s.unit.region}` +
          (s.hourly_rate != null ? `, rate ${money(s.hourly_rate)}/h` : "");
      }
      case "remove_staff": return `Lose ${who(change.staff_id)}`;
      case "set_capacity": return `Set the hours of ${who(change.staff_id)} to ${Array.isArray(change.capacity_hours) ? change.capacity_hours.join(", ") : change.capacity_hours} per week`;
      case "scale_rates": {
        const scope = [change.unit_kind && UNIT_WORDS[change.unit_kind], change.role && change.role.replace(/_/g, " ")].filter(Boolean).join(" ");
        const by = ((change.factor - 1) * 100).toFixed(1).replace(/\.0$/, "");
        return `Internal rates ${change.factor >= 1 ? "+" : ""}${by}% for ${scope || "everyone"}`;
      }
      case "add_opportunity": return `New deal “${change.opportunity.name || change.opportunity.id}” (grade ${change.opportunity.grade})`;
      case "remove_opportunity": return `Drop the deal ${what(change.opportunity_id)}`;
      case "set_grade": {
        const before = deal(indexes.slice(1), change.opportunity_id);
        return `Regrade ${what(change.opportunity_id)}${before ? ` from ${before.grade}` : ""} to ${change.grade}`;
      }
      case "set_budget": return `Presales budget of ${what(change.opportunity_id)}: ${change.presales_budget == null ? "back to the policy's share of expected value" : money(change.presales_budget)}`;
      case "set_win_probability": return `Win probability of ${what(change.opportunity_id)}: ${percent(change.win_probability, 0)}`;
      case "set_policy": return `Policy change: ${Object.entries(change.policy).filter(([, v]) => v != null).map(([k, v]) => `${k.replace(/_/g, " ")} ${JSON.stringify(v)}`).join("; ")}`;
      default: return change.op;
    }
  }

  function variantHtml(variant, i) {
    const side = state.sides[i + 1];
    const base = state.sides[0];
    const indexes = [side.index, base.index];
    const changes = variant.changes.map((c) => `<li>${escapeHtml(changeWords(c, indexes))}</li>`).join("");
    const moves = variant.moves.map((m) => `<tr data-kind="${m.kind}">
        <td>${dealCell(indexes, m.opportunity_id)}</td>
        <td>${workCell(indexes, m.opportunity_id, m.demand_id)}</td>
        <td>${personCell(indexes, m.from_staff)}</td>
        <td>${personCell(indexes, m.to_staff)}</td>
        <td><span class="tag ${m.kind}">${MOVE_WORDS[m.kind] || m.kind}</span></td></tr>`).join("");
    const people = (list, note) => list.map((p) => `<li>${escapeHtml(personLabel(indexes, p.staff_id))}${note(p)} — was on ${p.opportunities.map((o) => escapeHtml(dealLabel(indexes, o))).join(", ")}</li>`).join("");
    const joinedPeople = (list, note) => list.map((p) => `<li>${escapeHtml(personLabel(indexes, p.staff_id))}${note(p)} — now on ${p.opportunities.map((o) => escapeHtml(dealLabel(indexes, o))).join(", ")}</li>`).join("");
    const leads = variant.lead_changes.map((l) => `<tr><td>${dealCell(indexes, l.opportunity_id)}</td>
        <td>${personCell(indexes, l.from_staff)}</td><td>${personCell(indexes, l.to_staff)}</td></tr>`).join("");
    const deals = (ids) => ids.map((o) => escapeHtml(dealLabel(indexes, o))).join("; ");
    const summary = [
      `${variant.moves.length} change${variant.moves.length === 1 ? "" : "s"} of person on a work slot`,
      `${variant.dropped_out.length} dropped out`,
      `${variant.joined.length} joined`,
      `${variant.lead_changes.length} lead change${variant.lead_changes.length === 1 ? "" : "s"}`,
    ].join(" · ");
    return `<article class="variant" data-variant="${i}" data-moves="${variant.moves.length}">
      <h3>${escapeHtml(variant.name)}</h3>
      <h4>What changes</h4><ul>${changes || "<li>Nothing (the base as it is)</li>"}</ul>
      <p class="hint">${summary}</p>
      <h4>Who moved</h4>
      ${moves ? `<div class="scroll"><table class="moves compact"><thead><tr><th>Deal</th><th>Work needed</th><th>Before</th><th>After</th><th>Change</th></tr></thead><tbody>${moves}</tbody></table></div>` : "<p class=\"hint\">Nobody moved.</p>"}
      ${variant.dropped_out.length ? `<h4>No longer on any deal</h4><ul>${people(variant.dropped_out, (p) => (p.gone ? " <strong>(left the team)</strong>" : ""))}</ul>` : ""}
      ${variant.joined.length ? `<h4>Newly on a deal</h4><ul>${joinedPeople(variant.joined, (p) => (p.new ? " <strong>(new hire)</strong>" : ""))}</ul>` : ""}
      ${leads ? `<h4>Who leads the deal</h4><table class="compact"><thead><tr><th>Deal</th><th>Lead before</th><th>Lead after</th></tr></thead><tbody>${leads}</tbody></table>` : ""}
      ${variant.staffed.length ? `<h4>Deals newly staffed</h4><p>${deals(variant.staffed)}</p>` : ""}
      ${variant.unstaffed.length ? `<h4>Deals no longer staffed</h4><p>${deals(variant.unstaffed)}</p>` : ""}
    </article>`;
  }

  // ------------------------------------------------------------------ one plan

  function selectSide(index) {
    state.current = index;
    const side = state.sides[index];
    $("#plan").hidden = false;
    const tabs = state.sides.length > 1
      ? state.sides.map((s, i) => `<button type="button" role="tab" data-side="${i}" aria-selected="${i === index}">${escapeHtml(s.label)}</button>`).join("")
      : "";
    $("#plan-tabs").innerHTML = tabs;
    for (const button of document.querySelectorAll("#plan-tabs button")) {
      button.addEventListener("click", () => selectSide(Number(button.dataset.side)));
    }
    $("#plan-title").textContent = state.sides.length > 1 ? `The plan in detail: ${side.label}` : "The plan in detail";
    renderTiles(side);
    renderGantt(side);
    renderHeatmap(side);
    renderBudget(side, false);
    renderUnfilled(side);
  }

  function renderTiles(side) {
    const { plan, index } = side;
    const k = plan.kpis || {};
    const slots = (k.filled_slots ?? plan.assignments.length) + (k.unfilled_slots ?? 0);
    const tiles = [
      ["Covered value", moneyShort(plan.objective.covered_value), k.possible_value ? `${percent(k.coverage)} of ${moneyShort(k.possible_value)} possible` : ""],
      // A viewer's plan comes without costs (CONTRACT v2, roles): no tile for them.
      ...(plan.objective.total_cost != null ? [["Total internal cost", money(plan.objective.total_cost), `${plan.leads.length} leads included`]] : []),
      ["Deals staffed", `${k.staffed_opportunities ?? plan.leads.length} of ${k.opportunities ?? index.opportunities.size}`, ""],
      ["Work slots filled", `${k.filled_slots ?? plan.assignments.length} of ${slots}`, `${k.unfilled_slots ?? 0} left open`],
      ["Average utilization", k.utilization != null ? percent(k.utilization) : "–", `${index.staff.size} people`],
      ["Plan quality", plan.status, STATUS_WORDS[plan.status] || ""],
    ];
    $("#plan-tiles").innerHTML = tiles.map(([label, value, note]) =>
      `<div class="tile"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}</div><div class="note">${escapeHtml(note)}</div></div>`).join("")
      + (plan.explanation ? `<div class="tile"><div class="label">Why there is no plan</div><div class="note">${escapeHtml(plan.explanation.detail)}</div></div>` : "");
  }

  function chartIn(selector, height) {
    const el = $(selector);
    const old = echarts.getInstanceByDom(el);
    if (old) old.dispose();
    el.style.height = `${height}px`;
    return echarts.init(el, null, { renderer: "canvas" });
  }

  function weekAxes(index) {
    // A value axis carries the bars (weeks 0..n as numbers); category axes put the week names mid-week.
    const names = { type: "category", data: index.weekLabels, boundaryGap: true, axisTick: { show: false },
      axisLabel: { color: "#374151", fontSize: 11, hideOverlap: true,
        formatter: index.weeks > 8 ? (label) => label.replace(" · ", "\n") : undefined },
      axisLine: { show: false } };
    return [
      { type: "value", min: 0, max: index.weeks, interval: 1, axisLabel: { show: false }, splitLine: { lineStyle: { color: "#e5e7eb" } } },
      { ...names, position: "bottom", name: "Week (starting)", nameLocation: "middle", nameGap: 26, nameTextStyle: { color: "#5b6472" } },
      { ...names, position: "top" },
    ];
  }

  // Room for y-axis labels: ECharts cuts labels that do not fit, so the margin follows the longest one.
  function labelMargin(labels, pxPerChar = 6.4) {
    return Math.min(340, Math.ceil(Math.max(40, ...labels.map((l) => l.length)) * pxPerChar) + 14);
  }

  function renderGantt(side) {
    const { plan, index } = side;
    const leads = new Set(plan.leads.map((l) => `${l.opportunity_id}|${l.staff_id}`));
    const byPerson = new Map();
    for (const a of plan.assignments) {
      if (!byPerson.has(a.staff_id)) byPerson.set(a.staff_id, []);
      byPerson.get(a.staff_id).push(a);
    }
    const order = [...index.staff.keys()].filter((id) => byPerson.has(id));
    for (const id of byPerson.keys()) if (!order.includes(id)) order.push(id);
    // One row per lane: a person's overlapping pieces of work go on lanes of their own, so none hides another.
    const rows = [];
    const bands = [];
    const items = [];
    order.forEach((staffId, personIndex) => {
      const work = byPerson.get(staffId).slice().sort((a, b) => a.start_week - b.start_week || b.end_week - a.end_week);
      const laneEnds = [];
      const first = rows.length;
      for (const a of work) {
        let lane = laneEnds.findIndex((end) => end < a.start_week);
        if (lane < 0) lane = laneEnds.push(a.end_week) - 1;
        else laneEnds[lane] = a.end_week;
        const o = index.opportunities.get(a.opportunity_id);
        items.push({
          row: first + lane, a, grade: o ? o.grade : "E", lead: leads.has(`${a.opportunity_id}|${a.staff_id}`),
          deal: o ? o.name || o.id : a.opportunity_id,
        });
      }
      laneEnds.forEach((_, lane) => rows.push(lane === 0 ? personLabel([index], staffId) : ""));
      bands.push([first, rows.length - 1, personIndex % 2]);
    });
    const laneHeight = 20;
    const chart = chartIn("#gantt", Math.max(rows.length * laneHeight + 120, 180));
    const series = GRADES.map((grade) => {
      const mine = items.filter((item) => item.grade === grade);
      return {
        type: "custom",
        name: `Grade ${grade} deal`,
        itemStyle: { color: GRADE_COLORS[grade] },
        encode: { x: [1, 2], y: 0 },
        z: 2,
        data: mine.map((item) => [item.row, item.a.start_week, item.a.end_week + 1]),
        renderItem(params, api) {
          const item = mine[params.dataIndex];
          const [x0, yc] = api.coord([item.a.start_week, item.row]);
          const [x1] = api.coord([item.a.end_week + 1, item.row]);
          const height = api.size([0, 1])[1] - 3;
          const shape = echarts.graphic.clipRectByRect(
            { x: x0 + 1, y: yc - height / 2, width: x1 - x0 - 2, height },
            { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height },
          );
          if (!shape) return null;
          const children = [{
            type: "rect", shape: { ...shape, r: 3 },
            style: { fill: GRADE_COLORS[grade], stroke: item.lead ? "#111827" : null, lineWidth: item.lead ? 1.5 : 0 },
          }];
          if (shape.width > 30) {
            const room = Math.floor((shape.width - 8) / 6.3);
            const text = `${item.lead ? "★ " : ""}${item.deal}`;
            children.push({
              type: "text",
              style: {
                x: shape.x + 4, y: shape.y + shape.height / 2, verticalAlign: "middle", fill: "#fff", font: "11px sans-serif",
                text: text.length > room ? `${text.slice(0, Math.max(room - 1, 1))}…` : text,
              },
            });
          }
          return { type: "group", children };
        },
      };
    });
    // Alternate shading per person, behind the bars, so that a person's lanes read as one row.
    series.push({
      type: "custom", name: "people", silent: true, z: 0, tooltip: { show: false },
      encode: { y: [0, 1] },
      data: bands,
      renderItem(params, api) {
        const [firstRow, lastRow, odd] = bands[params.dataIndex];
        const half = api.size([0, 1])[1] / 2;
        const top = api.coord([0, firstRow])[1] - half;
        const bottom = api.coord([0, lastRow])[1] + half;
        return {
          type: "rect",
          shape: { x: params.coordSys.x, y: top, width: params.coordSys.width, height: bottom - top },
          style: { fill: odd ? "#f3f5f9" : "#ffffff" },
        };
      },
    });
    chart.setOption({
      animation: false,
      legend: { top: 0, left: "center", data: GRADES.map((g) => ({ name: `Grade ${g} deal`, itemStyle: { color: GRADE_COLORS[g] } })) },
      grid: { left: labelMargin(rows), right: 16, top: 58, bottom: 46 },
      tooltip: {
        trigger: "item",
        formatter(params) {
          const grade = GRADES[params.seriesIndex];
          const item = grade && items.filter((x) => x.grade === grade)[params.dataIndex];
          if (!item) return "";
          const a = item.a;
          return `<strong>${escapeHtml(personLabel([index], a.staff_id))}</strong><br>` +
            `${escapeHtml(dealLabel([index], a.opportunity_id))}, grade ${item.grade}${item.lead ? " — <strong>leads this deal</strong>" : ""}<br>` +
            `${escapeHtml(workLabel([index], a.opportunity_id, a.demand_id))}<br>` +
            `${weekSpan(index, a.start_week, a.end_week)}: ${nf0.format(a.hours)} h${a.cost != null ? `, cost ${money(a.cost)}` : ""}`;
        },
      },
      xAxis: weekAxes(index),
      yAxis: {
        type: "category", inverse: true, data: rows,
        axisTick: { show: false }, axisLine: { show: false },
        axisLabel: { interval: 0, fontSize: 11, color: "#1f2937" },
      },
      series,
    });
    const el = $("#gantt");
    el.dataset.bars = String(items.length);
    el.dataset.people = String(order.length);
    state.charts.gantt = {
      bars: items.length, people: order.length, rows: rows.length,
      byGrade: Object.fromEntries(GRADES.map((g) => [g, items.filter((i) => i.grade === g).length])),
      leads: items.filter((i) => i.lead).length,
    };
  }

  function renderHeatmap(side) {
    const { plan, index } = side;
    const hours = new Map(plan.staff.map((s) => [s.staff_id, s.hours_by_week]));
    const people = [...index.staff.values()];
    const used = [];
    const closed = [];
    people.forEach((p, row) => {
      for (let w = 0; w < index.weeks; w += 1) {
        const capacity = capacityOf(p, w);
        const h = (hours.get(p.id) || [])[w] || 0;
        if (!capacity) closed.push([w, row, 0, h]);
        else used.push([w, row, Math.round((1000 * h) / capacity) / 10, h, capacity]);
      }
    });
    const labels = people.map((p) => personLabel([index], p.id));
    const chart = chartIn("#heatmap", people.length * 18 + 130);
    chart.setOption({
      animation: false,
      grid: { left: labelMargin(labels, 6), right: 16, top: 40, bottom: 80 },
      tooltip: {
        formatter(params) {
          const [w, row, share, h, capacity] = params.value;
          const who = escapeHtml(personLabel([index], people[row].id));
          if (params.seriesIndex === 1) return `<strong>${who}</strong><br>${index.weekLabels[w]}: no hours available`;
          return `<strong>${who}</strong><br>${index.weekLabels[w]}: ${nf0.format(h)} h of ${nf0.format(capacity)} h (${share}%)`;
        },
      },
      xAxis: [{ type: "category", data: index.weekLabels, position: "top", axisTick: { show: false }, splitArea: { show: false }, axisLabel: { fontSize: 11 } }],
      yAxis: {
        type: "category", inverse: true, data: labels,
        axisTick: { show: false }, axisLabel: { interval: 0, fontSize: 11, color: "#1f2937" },
      },
      visualMap: {
        type: "continuous", seriesIndex: 0, dimension: 2, min: 0, max: 100, calculable: false,
        orient: "horizontal", left: "center", bottom: 8, itemWidth: 14, itemHeight: 260,
        text: ["100% of available hours", "0%"], textStyle: { fontSize: 12 },
        inRange: { color: ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"] },
      },
      series: [
        {
          name: "Share of available hours used", type: "heatmap", data: used,
          label: { show: true, fontSize: 10, formatter: (p) => (p.value[2] ? `${Math.round(p.value[2])}%` : ""), color: "#111" },
          itemStyle: { borderColor: "#fff", borderWidth: 1 },
        },
        {
          name: "No hours available", type: "heatmap", data: closed,
          itemStyle: { color: "#d1d5db", borderColor: "#fff", borderWidth: 1 },
          label: { show: true, fontSize: 10, formatter: "no hours", color: "#4b5563" },
        },
      ],
    });
    // Dark cells get white labels: ECharts picks one label colour per series, so set it per item.
    chart.setOption({ series: [{ data: used.map((v) => ({ value: v, label: { color: v[2] >= 55 ? "#fff" : "#111" } })) }] });
    const el = $("#heatmap");
    el.dataset.cells = String(used.length + closed.length);
    el.dataset.people = String(people.length);
    state.charts.heatmap = { cells: used.length + closed.length, people: people.length, weeks: index.weeks, off: closed.length };
  }

  function renderBudget(side, all) {
    const { plan, index } = side;
    // A viewer's plan has no costs or budgets: the section is hidden (.money) and nothing is drawn.
    if (plan.opportunities.some((o) => o.cost == null)) {
      state.charts.budget = { bars: 0, staffed: 0, overBudget: 0 };
      return;
    }
    const staffed = plan.opportunities.filter((o) => o.cost > 0)
      .sort((a, b) => a.grade.localeCompare(b.grade) || b.cost / (b.budget || 1) - a.cost / (a.budget || 1));
    const shown = all ? staffed : staffed.slice(0, 25);
    const label = (o) => `${o.grade} · ${dealLabel([index], o.opportunity_id)}`;
    const short = (v) => nfCompact.format(v);
    const chart = chartIn("#budget", shown.length * 24 + 110);
    chart.setOption({
      animation: false,
      legend: { top: 0, data: [{ name: "Presales budget", itemStyle: { color: "#d7dce3" } }, { name: "Internal cost (colour: deal grade)", itemStyle: { color: GRADE_COLORS.A } }] },
      grid: { left: Math.min(labelMargin(shown.map(label), 6), 330), right: 150, top: 34, bottom: 40 },
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" },
        formatter(params) {
          const o = shown[params[0].dataIndex];
          return `<strong>${escapeHtml(label(o))}</strong><br>Cost ${money(o.cost)} of budget ${money(o.budget)} (${percent(o.cost / (o.budget || 1), 0)})<br>` +
            `Expected value ${money(o.expected_value)}; coverage ${percent(o.coverage, 0)}`;
        },
      },
      xAxis: { type: "value", name: "Internal cost and budget", nameLocation: "middle", nameGap: 26, axisLabel: { formatter: (v) => moneyShort(v) } },
      yAxis: {
        type: "category", inverse: true, data: shown.map(label), axisTick: { show: false },
        axisLabel: { fontSize: 11, width: 316, overflow: "truncate", interval: 0 },
      },
      series: [
        {
          name: "Presales budget", type: "bar", barWidth: 16, barGap: "-100%", itemStyle: { color: "#d7dce3" }, z: 1,
          data: shown.map((o) => o.budget),
          label: { show: true, position: "right", fontSize: 11, color: "#374151",
            formatter: (p) => `${short(shown[p.dataIndex].cost)} of ${short(shown[p.dataIndex].budget)} (${percent(shown[p.dataIndex].cost / (shown[p.dataIndex].budget || 1), 0)})` },
        },
        {
          name: "Internal cost (colour: deal grade)", type: "bar", barWidth: 10, z: 2,
          data: shown.map((o) => ({ value: o.cost, itemStyle: { color: GRADE_COLORS[o.grade] } })),
        },
      ],
    });
    const button = $("#budget-all");
    button.hidden = staffed.length <= 25;
    button.textContent = all ? "Show the 25 first" : `Show all ${staffed.length} staffed deals`;
    button.onclick = () => renderBudget(side, !all);
    const el = $("#budget");
    el.dataset.bars = String(shown.length);
    el.dataset.staffed = String(staffed.length);
    state.charts.budget = { bars: shown.length, staffed: staffed.length, overBudget: staffed.filter((o) => o.cost > o.budget + 0.01).length };
  }

  function renderUnfilled(side) {
    const { plan, index } = side;
    const groups = REASONS.map(([reason, title, explain]) => ({ reason, title, explain, items: plan.unfilled.filter((u) => u.reason === reason) }))
      .filter((g) => g.items.length);
    const other = plan.unfilled.filter((u) => !REASONS.some(([r]) => r === u.reason));
    if (other.length) groups.push({ reason: "other", title: "Other", explain: "", items: other });
    const total = plan.unfilled.reduce((sum, u) => sum + u.slots, 0);
    const rows = (items) => items.slice().sort((a, b) => {
      const ga = (index.opportunities.get(a.opportunity_id) || {}).grade || "Z";
      const gb = (index.opportunities.get(b.opportunity_id) || {}).grade || "Z";
      return ga.localeCompare(gb) || a.opportunity_id.localeCompare(b.opportunity_id);
    }).map((u) => {
      return `<tr><td>${dealCell([index], u.opportunity_id)}</td>
        <td>${workCell([index], u.opportunity_id, u.demand_id)}</td>
        <td class="num">${u.slots}</td><td>${escapeHtml(humanDetail(u.detail, [index]))}</td></tr>`;
    }).join("");
    $("#unfilled").innerHTML = (total
      ? `<p class="hint">${total} work slot${total === 1 ? "" : "s"} on ${new Set(plan.unfilled.map((u) => u.opportunity_id)).size} deals stay unstaffed, grouped by the reason. Click a group to fold it.</p>`
      : "<p>Every work slot is staffed.</p>")
      + groups.map((g) => {
        const slots = g.items.reduce((sum, u) => sum + u.slots, 0);
        return `<details class="reason" open data-reason="${g.reason}" data-slots="${slots}">
          <summary>${escapeHtml(g.title)} <span class="count">· ${slots} slot${slots === 1 ? "" : "s"} in ${g.items.length} work item${g.items.length === 1 ? "" : "s"}</span></summary>
          <p class="hint explain">${escapeHtml(g.explain)}</p>
          <div class="scroll"><table class="compact"><thead><tr><th>Deal (grade, customer)</th><th>Work needed</th><th class="num">Open slots</th><th>Why exactly</th></tr></thead>
          <tbody>${rows(g.items)}</tbody></table></div></details>`;
      }).join("");
    $("#unfilled").dataset.slots = String(total);
    state.charts.unfilled = { slots: total, groups: Object.fromEntries(groups.map((g) => [g.reason, g.items.reduce((s, u) => s + u.slots, 0)])) };
  }

  // ------------------------------------------------------------------ start

  // The main tabs (Workspace, What-if and plans): arrow keys move between them, as WAI-ARIA's tabs pattern says.
  function selectTab(name) {
    for (const tab of document.querySelectorAll("#main-tabs [role=tab]")) {
      const on = tab.dataset.view === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      $(`#view-${tab.dataset.view}`).hidden = !on;
    }
    document.body.dataset.view = name;
    if (name === "whatif" && state.listsStale !== false) loadLists();
    window.dispatchEvent(new Event("resize")); // charts drawn while hidden take their size now
    document.dispatchEvent(new CustomEvent("director:view", { detail: name }));
  }

  function setupTabs() {
    const tabs = [...document.querySelectorAll("#main-tabs [role=tab]")];
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => selectTab(tab.dataset.view));
      tab.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        const next = tabs[(i + step + tabs.length) % tabs.length];
        selectTab(next.dataset.view);
        next.focus();
      });
    });
  }

  function start() {
    setupKey();
    setupTabs();
    if (document.body.dataset.authEnabled === "true" && !apiKey()) keyNeeded();
    $("#run-scenario").addEventListener("click", () => guarded(runScenario));
    $("#open-scenario").addEventListener("click", () => guarded(async () => {
      const id = $("#stored-scenario").value;
      if (!id) throw new Error("there is no stored scenario to open yet");
      await showScenario(id);
    }));
    $("#open-plan").addEventListener("click", () => guarded(async () => {
      const id = $("#stored-plan").value;
      if (!id) throw new Error("there is no stored plan to open yet");
      await showPlan(id);
    }));
    $("#scenario-upload").addEventListener("change", async (event) => {
      const file = event.target.files[0];
      if (file) $("#scenario-json").value = await file.text();
    });
    window.addEventListener("resize", () => {
      for (const id of ["#gantt", "#heatmap", "#budget"]) {
        const chart = echarts.getInstanceByDom($(id));
        if (chart) chart.resize();
      }
    });
    const [kind, id] = location.hash.slice(1).split("=");
    selectTab(id && (kind === "scenario" || kind === "plan") ? "whatif" : "workspace");
    if (id && kind === "scenario") guarded(() => showScenario(id));
    else if (id && kind === "plan") guarded(() => showPlan(id));
    state.ready = true;
    document.body.dataset.ready = "true";
  }

  Object.assign(state.lib, {
    api, allPages, poll, showScenario, loadLists, setStatus, showError, guarded, selectTab, escapeHtml, money, moneyShort, percent, nf0, isoWeek, weekLabels, weekRange,
    KPI_ROWS, deltaHtml, STATUS_WORDS, REASONS, GRADES, GRADE_COLORS, MONTHS, UNIT_WORDS, gradeBadge, chartIn, labelMargin,
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
