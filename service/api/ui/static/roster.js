// Editing the roster and the pipeline on the workspace board (CONTRACT v2, docs/workspace.md): a form to add or
// edit one person or one deal with every field of v1's staff and opportunity objects, the server's validation
// messages beside the fields they name, delete with the bookings it breaks, and If-Match on every write, so
// that two directors never overwrite each other's change unseen. Draws on board.js's state and tables
// (window.director.board); its own state is window.director.roster.
"use strict";

(() => {
  const director = window.director;
  const L = director.lib;
  const board = director.board;
  const $ = (selector) => document.querySelector(selector);
  const KEY_STORAGE = "presales-allocator.api-key";
  const LIVE = ["tentative", "confirmed"]; // the bookings a change can break
  const DEFAULT_BUDGET_RATIO = { A: 0.03, B: 0.03, C: 0.02, D: 0.02, E: 0.01 }; // CONTRACT v1's policy
  const writes = () => board.role !== "viewer";

  const roster = {
    form: null, // the open form: {kind, mode: "add" | "edit", id, etag, original}
    deleting: null, // the delete being confirmed: {kind, id, name, etag, bookings}
  };
  director.roster = roster;

  // ------------------------------------------------------------------ the API, with its ETags

  // L.api neither sends If-Match nor shows the ETag; every write here needs both.
  async function call(path, { method = "GET", body, ifMatch } = {}) {
    const headers = { Accept: "application/json" };
    const key = localStorage.getItem(KEY_STORAGE);
    if (key) headers["X-API-Key"] = key;
    if (ifMatch) headers["If-Match"] = ifMatch;
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: response.status, ok: response.ok, body: parsed, etag: response.headers.get("ETag") };
  }

  const problemText = (answer) => (answer.body && typeof answer.body === "object" && (answer.body.detail || answer.body.title))
    || `the server answered ${answer.status}`;

  async function bookingsOf(filter, id) {
    const items = [];
    let cursor = "";
    let etag = null;
    for (;;) {
      const answer = await call(`/v1/workspace/bookings?${filter}=${encodeURIComponent(id)}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      if (!answer.ok) throw new Error(problemText(answer));
      etag = etag || answer.etag;
      items.push(...answer.body.items);
      if (!answer.body.next_cursor) return { items, etag };
      cursor = answer.body.next_cursor;
    }
  }

  // ------------------------------------------------------------------ small form helpers

  const text = (selector) => $(selector).value.trim();
  const numberOf = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const numberText = (value) => (value == null ? "" : String(value));
  const weekLabel = (w) => (board.weeks || [])[w] || `week ${w}`;
  const horizonWeeks = () => (board.workspace ? board.workspace.horizon.weeks : (board.weeks || []).length || 1);
  const staffName = (id) => { const p = board.staffById && board.staffById.get(id); return p && p.name ? `${p.name} (${id})` : id; };
  const dealName = (id) => { const o = board.dealById && board.dealById.get(id); return o && o.name ? `${o.name} (${id})` : id; };

  function element(tag, attributes = {}, children = []) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value == null || value === false) continue;
      if (name === "text") el.textContent = value;
      else if (name in el && typeof value !== "string") el[name] = value;
      else el.setAttribute(name, value === true ? "" : value);
    }
    el.append(...children);
    return el;
  }

  function fillDatalist(selector, values) {
    const unique = [...new Set(values.filter((v) => v != null && v !== ""))].sort();
    $(selector).replaceChildren(...unique.map((v) => element("option", { value: v })));
  }

  function fillLists() {
    fillDatalist("#role-list", board.staff.map((s) => s.role));
    fillDatalist("#unit-list", board.staff.map((s) => s.unit.id));
    fillDatalist("#region-list", [...board.staff.map((s) => s.unit.region), ...board.deals.map((o) => o.region)]);
    fillDatalist("#stage-list", board.deals.map((o) => o.stage));
    fillDatalist("#industry-list", board.deals.map((o) => o.industry));
    fillDatalist("#staff-id-list", board.staff.map((s) => s.id));
  }

  function weekSelect(value, label, path) {
    const select = element("select", { "aria-label": label, "data-path": path, "data-field": path.split(".").pop() });
    const weeks = horizonWeeks();
    for (let w = 0; w < weeks; w += 1) select.append(new Option(weekLabel(w), String(w)));
    if (value != null && (value < 0 || value >= weeks)) select.append(new Option(`week ${value} (outside the horizon)`, String(value)));
    select.value = String(value ?? 0);
    return select;
  }

  // ------------------------------------------------------------------ the person form

  function skillRow(name = "", level = "") {
    const row = element("div", { class: "skill-row" });
    const nameInput = element("input", { class: "skill-name", list: "skill-list", autocomplete: "off", spellcheck: "false", value: name });
    const levelInput = element("input", { class: "skill-level", type: "number", min: "1", max: "5", step: "1", value: numberText(level) });
    const remove = element("button", { type: "button", class: "secondary small remove", text: "Remove" });
    remove.addEventListener("click", () => {
      row.remove();
      renumberSkills();
      $("#p-skill-add").focus();
    });
    row.append(nameInput, levelInput, remove);
    return row;
  }

  function renumberSkills() {
    [...$("#p-skills").children].forEach((row, i) => {
      row.querySelector(".skill-name").setAttribute("aria-label", `Skill ${i + 1}`);
      row.querySelector(".skill-level").setAttribute("aria-label", `Level of skill ${i + 1}`);
      row.querySelector(".remove").setAttribute("aria-label", `Remove skill ${i + 1}`);
    });
  }

  function capacityWeeks(values) {
    const grid = $("#p-capacity-weeks");
    grid.replaceChildren(...values.map((hours, w) => {
      const id = `p-capacity-${w}`;
      return element("div", { class: "week" }, [
        element("label", { for: id, class: "inline", text: weekLabel(w) }),
        element("input", { id, type: "number", min: "0", max: "168", step: "any", value: numberText(hours), "data-path": `capacity_hours[${w}]` }),
      ]);
    }));
  }

  // One figure for every week, or one a week: the form shows the one the person has; switching carries the hours over.
  function setCapacityMode(weekly) {
    $("#p-capacity-weekly").checked = weekly;
    $("#p-capacity-same").checked = !weekly;
    const grid = $("#p-capacity-weeks");
    const same = $("#p-capacity");
    if (weekly && !grid.children.length) capacityWeeks(Array(horizonWeeks()).fill(same.value === "" ? "" : Number(same.value)));
    if (!weekly && same.value === "" && grid.children.length) same.value = grid.querySelector("input").value;
    grid.hidden = !weekly;
    same.disabled = weekly;
    // A capacity error without a week goes beside whichever the director is looking at.
    if (weekly) { grid.dataset.path = "capacity_hours"; delete same.dataset.path; } else { same.dataset.path = "capacity_hours"; delete grid.dataset.path; }
  }

  function fillPerson(person) {
    $("#p-id").value = person.id || "";
    $("#p-name").value = person.name || "";
    $("#p-role").value = person.role || "";
    $("#p-unit-kind").value = person.unit.kind || "delivery_center";
    $("#p-unit-id").value = person.unit.id || "";
    $("#p-region").value = person.unit.region || "";
    $("#p-rate").value = numberText(person.hourly_rate);
    $("#p-max").value = numberText(person.max_opportunities);
    $("#p-lead").checked = Boolean(person.can_lead);
    const weekly = Array.isArray(person.capacity_hours);
    $("#p-capacity").value = weekly ? "" : numberText(person.capacity_hours);
    $("#p-capacity-weeks").replaceChildren();
    if (weekly) capacityWeeks(person.capacity_hours);
    setCapacityMode(weekly);
    const skills = Object.entries(person.skills || {});
    $("#p-skills").replaceChildren(...(skills.length ? skills : [["", ""]]).map(([name, level]) => skillRow(name, level)));
    renumberSkills();
  }

  function readPerson() {
    const skills = {};
    for (const row of $("#p-skills").children) {
      const name = row.querySelector(".skill-name").value.trim();
      const level = numberOf(row.querySelector(".skill-level"));
      if (name === "" && level === null) continue; // a row added and left empty
      skills[name] = level;
    }
    const weekly = $("#p-capacity-weekly").checked;
    return {
      id: text("#p-id"),
      name: text("#p-name"),
      role: text("#p-role"),
      unit: { kind: $("#p-unit-kind").value, id: text("#p-unit-id"), region: text("#p-region") },
      skills,
      hourly_rate: numberOf($("#p-rate")),
      capacity_hours: weekly ? [...$("#p-capacity-weeks").querySelectorAll("input")].map(numberOf) : numberOf($("#p-capacity")),
      can_lead: $("#p-lead").checked,
      max_opportunities: numberOf($("#p-max")),
    };
  }

  const blankPerson = () => ({ id: "", name: "", role: "", unit: { kind: "delivery_center", id: "", region: "" }, skills: {},
    hourly_rate: null, capacity_hours: 40, can_lead: false, max_opportunities: null });

  // ------------------------------------------------------------------ the deal form

  function demandRow(demand) {
    const row = element("tr", { class: "demand-row" });
    const cell = (child) => element("td", {}, [child]);
    const input = (field, attributes) => element("input", { "data-field": field, autocomplete: "off", ...attributes });
    const remove = element("button", { type: "button", class: "secondary small remove", text: "Remove" });
    remove.addEventListener("click", () => {
      row.remove();
      renumberDemands();
      $("#o-demand-add").focus();
    });
    row.append(
      cell(input("id", { value: demand.id || "", spellcheck: "false", class: "demand-id" })),
      cell(input("skill", { value: demand.skill || "", list: "skill-list", spellcheck: "false" })),
      cell(input("min_level", { type: "number", min: "1", max: "5", step: "1", value: numberText(demand.min_level), class: "short" })),
      cell(input("hours_per_week", { type: "number", min: "0", max: "168", step: "any", value: numberText(demand.hours_per_week), class: "short" })),
      cell(weekSelect(demand.start_week, "", "demands[].start_week")),
      cell(weekSelect(demand.end_week, "", "demands[].end_week")),
      cell(input("headcount", { type: "number", min: "1", max: "50", step: "1", value: numberText(demand.headcount ?? 1), class: "short" })),
      cell(input("remote_ok", { type: "checkbox", checked: Boolean(demand.remote_ok) })),
      cell(remove),
    );
    return row;
  }

  const DEMAND_WORDS = { id: "Id", skill: "Skill", min_level: "Level at least", hours_per_week: "Hours a week", start_week: "From week",
    end_week: "To week", headcount: "People", remote_ok: "Remote work allowed" };

  // Paths and names follow the rows' order: demands[i] is what the server will call the i-th row.
  function renumberDemands() {
    [...$("#o-demands").children].forEach((row, i) => {
      for (const el of row.querySelectorAll("[data-field]")) {
        el.dataset.path = `demands[${i}].${el.dataset.field}`;
        el.setAttribute("aria-label", `${DEMAND_WORDS[el.dataset.field]}, demand ${i + 1}`);
      }
      row.querySelector(".remove").setAttribute("aria-label", `Remove demand ${i + 1}`);
    });
  }

  function fillDeal(deal) {
    $("#o-id").value = deal.id || "";
    $("#o-name").value = deal.name || "";
    $("#o-customer").value = deal.customer || "";
    $("#o-grade").value = deal.grade || "C";
    $("#o-stage").value = deal.stage || "";
    $("#o-region").value = deal.region || "";
    $("#o-industry").value = deal.industry || "";
    $("#o-value").value = numberText(deal.deal_value);
    $("#o-probability").value = numberText(deal.win_probability);
    $("#o-budget").value = numberText(deal.presales_budget);
    $("#o-excluded").value = (deal.excluded_staff || []).join("; ");
    $("#o-demands").replaceChildren(...(deal.demands || []).map(demandRow));
    renumberDemands();
    explainDeal();
  }

  function readDeal() {
    const demands = [...$("#o-demands").children].map((row) => {
      const get = (field) => row.querySelector(`[data-field="${field}"]`);
      return {
        id: get("id").value.trim(),
        skill: get("skill").value.trim(),
        min_level: numberOf(get("min_level")),
        hours_per_week: numberOf(get("hours_per_week")),
        start_week: Number(get("start_week").value),
        end_week: Number(get("end_week").value),
        headcount: numberOf(get("headcount")),
        remote_ok: get("remote_ok").checked,
      };
    });
    const deal = {
      id: text("#o-id"), name: text("#o-name"), customer: text("#o-customer"), grade: $("#o-grade").value,
      stage: text("#o-stage"), region: text("#o-region"), industry: text("#o-industry"),
      deal_value: numberOf($("#o-value")), win_probability: numberOf($("#o-probability")),
      demands, excluded_staff: excludedIds(),
    };
    const budget = numberOf($("#o-budget"));
    if (budget !== null) deal.presales_budget = budget; // none: the policy's share of the expected value
    return deal;
  }

  const excludedIds = () => $("#o-excluded").value.split(";").map((id) => id.trim()).filter(Boolean);

  // What an empty budget means, and who the excluded ids are, as the director types.
  function explainDeal() {
    const grade = $("#o-grade").value;
    const ratios = { ...DEFAULT_BUDGET_RATIO, ...((board.workspace && board.workspace.policy && board.workspace.policy.budget_ratio) || {}) };
    const value = numberOf($("#o-value"));
    const p = numberOf($("#o-probability"));
    const figure = value != null && p != null && value >= 0 && p >= 0 && p <= 1 ? `: ${L.nf0.format(ratios[grade] * value * p)}` : "";
    const share = ratios[grade] * 100;
    $("#o-budget").placeholder = "from the policy";
    $("#o-budget-hint").textContent = `Empty: ${Number.isInteger(share) ? share : share.toFixed(1)} % of the expected value (grade ${grade})${figure}`;
    const ids = excludedIds();
    const unknown = ids.filter((id) => !board.staffById.has(id));
    $("#o-excluded-hint").textContent = ids.length
      ? ids.filter((id) => board.staffById.has(id)).map(staffName).join(", ") + (unknown.length ? `${ids.length > unknown.length ? "; " : ""}not on the roster: ${unknown.join(", ")}` : "")
      : "Nobody excluded";
  }

  function blankDeal() {
    return { id: "", name: "", customer: "", grade: "C", stage: "", region: "", industry: "", deal_value: null, win_probability: null,
      demands: [{ id: "d1", skill: "", min_level: 3, hours_per_week: 8, start_week: 0, end_week: horizonWeeks() - 1, headcount: 1, remote_ok: false }],
      excluded_staff: [] };
  }

  function addDemand() {
    const taken = new Set([...$("#o-demands").querySelectorAll(".demand-id")].map((input) => input.value.trim()));
    let n = taken.size + 1;
    while (taken.has(`d${n}`)) n += 1;
    const row = demandRow({ id: `d${n}`, skill: "", min_level: 3, hours_per_week: 8, start_week: 0, end_week: horizonWeeks() - 1, headcount: 1 });
    $("#o-demands").append(row);
    renumberDemands();
    row.querySelector('[data-field="skill"]').focus();
  }

  // ------------------------------------------------------------------ both forms

  const KINDS = {
    staff: {
      noun: "person", path: "/v1/workspace/staff/", filter: "staff_id", dialog: "#person-dialog", form: "#person-form",
      message: "#person-message", title: "#person-title", idInput: "#p-id", idHint: "#p-id-hint", remove: "#person-delete",
      fill: fillPerson, read: readPerson, blank: blankPerson, byId: () => board.staffById, name: (p) => staffName(p.id),
    },
    opportunities: {
      noun: "deal", path: "/v1/workspace/opportunities/", filter: "opportunity_id", dialog: "#deal-dialog", form: "#deal-form",
      message: "#deal-message", title: "#deal-title", idInput: "#o-id", idHint: "#o-id-hint", remove: "#deal-delete",
      fill: fillDeal, read: readDeal, blank: blankDeal, byId: () => board.dealById, name: (o) => dealName(o.id),
    },
  };

  function setMessage(selector, content, kind = "error") {
    const el = $(selector);
    el.replaceChildren(...(typeof content === "string" ? [content] : content));
    el.className = `form-message ${content.length ? kind : ""}`;
  }

  function clearErrors(form) {
    for (const el of form.querySelectorAll(".field-error")) el.remove();
    for (const el of form.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid");
      if (el.dataset.describedBy) el.setAttribute("aria-describedby", el.dataset.describedBy);
      else el.removeAttribute("aria-describedby");
      delete el.dataset.describedBy;
    }
  }

  // The control a problem's path names: the exact field, else the nearest enclosing one (`demands[2]` for
  // `demands[2].id` when nothing else matches). A skill is a key of `skills`: its level, or its name when empty.
  function controlFor(form, path) {
    if (path.startsWith("skills.") && form.id === "person-form") {
      const name = path.slice("skills.".length);
      const row = [...$("#p-skills").children].find((r) => r.querySelector(".skill-name").value.trim() === name);
      if (row) return row.querySelector(name === "" ? ".skill-name" : ".skill-level");
    }
    for (let p = path; p;) {
      const found = [...form.querySelectorAll("[data-path]")].find((el) => el.dataset.path === p && !el.disabled);
      if (found) return found;
      const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      p = cut > 0 ? p.slice(0, cut) : "";
    }
    return null;
  }

  let errorCount = 0;

  // Each problem beside the field it names (aria-invalid, aria-describedby), the rest listed above the form.
  function showProblems(kind, problems, headline) {
    const k = KINDS[kind];
    const form = $(k.form);
    clearErrors(form);
    const elsewhere = [];
    let first = null;
    for (const problem of problems) {
      const path = problem.path || "";
      const control = problem.control || controlFor(form, path);
      if (!control) {
        elsewhere.push(problem);
        continue;
      }
      errorCount += 1;
      const note = element("span", { class: "field-error", id: `field-error-${errorCount}`, "data-for": path, text: problem.message });
      const host = control.closest(".field, td, .week, .skill-row");
      if (host) host.append(note);
      else control.after(note);
      if (["INPUT", "SELECT", "TEXTAREA"].includes(control.tagName)) {
        if (!control.hasAttribute("aria-invalid")) control.dataset.describedBy = control.getAttribute("aria-describedby") || "";
        control.setAttribute("aria-invalid", "true");
        control.setAttribute("aria-describedby", `${control.getAttribute("aria-describedby") || ""} ${note.id}`.trim());
        first = first || control;
      }
    }
    const count = problems.length;
    const lines = elsewhere.map((p) => element("li", {}, [element("code", { text: p.path || "the whole document" }), `: ${p.message}`]));
    setMessage(k.message, [`${headline} ${count} problem${count === 1 ? "" : "s"}${count > elsewhere.length ? `, ${count === 1 ? "" : "each "}shown beside its field` : ""}.`,
      ...(lines.length ? [element("ul", {}, lines)] : [])]);
    (first || $(k.message)).focus?.();
  }

  // What the server cannot be asked: an id for the path, one level per skill, numbers the browser could read.
  function localProblems(kind, document_) {
    const k = KINDS[kind];
    const problems = [];
    if (!document_.id) problems.push({ path: "id", message: `give the ${k.noun} an id: the API and the CSV files name it by its id` });
    else if (roster.form.mode === "add" && k.byId().has(document_.id)) {
      problems.push({ path: "id", message: `there is already a ${k.noun} with this id: open it from the table to change it` });
    }
    if (kind === "staff") {
      const names = [...$("#p-skills").querySelectorAll(".skill-name")].map((input) => input.value.trim()).filter(Boolean);
      const twice = [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
      if (twice.length) problems.push({ path: "skills", message: `listed twice: ${twice.join(", ")}; a person has one level for each skill` });
    }
    for (const input of $(k.form).querySelectorAll("input[type=number]")) {
      if (input.validity.badInput && !input.disabled) problems.push({ path: input.dataset.path || "", message: "not a number", control: input });
    }
    return problems;
  }

  async function openEditor(kind, id = null) {
    if (!writes()) return;
    const k = KINDS[kind];
    fillLists();
    let form;
    let record;
    if (id == null) {
      const answer = await call("/v1/workspace");
      if (!answer.ok) throw new Error(problemText(answer));
      form = { kind, mode: "add", id: null, etag: answer.etag, original: null };
      record = k.blank();
    } else {
      const answer = await call(k.path + encodeURIComponent(id));
      if (answer.status === 404) {
        rosterStatus(`${k.name({ id })} is no longer in the workspace: someone removed it.`, "error");
        await board.reload();
        return;
      }
      if (!answer.ok) throw new Error(problemText(answer));
      form = { kind, mode: "edit", id, etag: answer.etag, original: answer.body };
      record = answer.body;
    }
    roster.form = form;
    clearErrors($(k.form));
    setMessage(k.message, "");
    k.fill(record);
    setFormMode(kind);
    $(k.dialog).showModal();
    (form.mode === "add" ? $(k.idInput) : $(k.form).querySelector("input:not([readonly])")).focus();
  }

  function setFormMode(kind) {
    const k = KINDS[kind];
    const form = roster.form;
    const editing = form.mode === "edit";
    $(k.title).textContent = editing ? `Edit ${k.name(form.original)}` : `Add a ${k.noun}`;
    $(k.idInput).readOnly = editing;
    $(k.idHint).textContent = editing ? "An id does not change: add a new one and delete this one instead." : "Once saved, the id stays.";
    $(k.remove).hidden = !editing;
  }

  async function save(kind) {
    const k = KINDS[kind];
    const form = roster.form;
    const mine = k.read();
    const local = localProblems(kind, mine);
    if (local.length) {
      showProblems(kind, local, "Not saved:");
      return;
    }
    const before = brokenIds();
    const answer = await call(k.path + encodeURIComponent(mine.id), { method: "PUT", body: mine, ifMatch: form.etag });
    if (answer.status === 412) {
      await stale(kind, mine, answer);
      return;
    }
    if (answer.status === 422 && answer.body && Array.isArray(answer.body.errors)) {
      showProblems(kind, answer.body.errors, "Not saved:");
      return;
    }
    if (!answer.ok) {
      clearErrors($(k.form));
      setMessage(k.message, `Not saved: ${problemText(answer)}`);
      return;
    }
    $(k.dialog).close();
    await board.reload();
    const broken = board.bookings.filter((b) => b.status === "broken" && !before.has(b.id) && b[kind === "staff" ? "staff_id" : "opportunity_id"] === mine.id);
    rosterStatus(`${k.name(mine)} ${answer.status === 201 ? "added" : "saved"}; the workspace is at revision ${answer.body.revision}` +
      (broken.length ? `. ${broken.length} of its bookings are now broken: ${broken[0].reason}` : "."), broken.length ? "error" : "done");
    refocus(kind, mine.id);
  }

  // The tables were drawn again: the keyboard goes on from the record's own button (or Add, when it is gone
  // or filtered out).
  function refocus(kind, id) {
    const table = kind === "staff" ? "#staff-table" : "#deal-table";
    const button = [...$(table).querySelectorAll("button.edit")].find((b) => b.dataset.id === id);
    (button || $(kind === "staff" ? "#staff-add" : "#deal-add")).focus();
  }

  const brokenIds = () => new Set(board.bookings.filter((b) => b.status === "broken").map((b) => b.id));

  // Every path of a document with its value: `hourly_rate`, `skills.erp`, `demands[1].end_week`.
  function flatten(value, path = "", out = new Map()) {
    if (Array.isArray(value)) value.forEach((v, i) => flatten(v, `${path}[${i}]`, out));
    else if (value && typeof value === "object") for (const [key, v] of Object.entries(value)) flatten(v, path ? `${path}.${key}` : key, out);
    else out.set(path, value === "" ? null : value ?? null);
    return out;
  }

  function differences(mine, theirs) {
    const a = flatten(mine);
    const b = flatten(theirs);
    const shown = (v) => (v == null ? "empty" : String(v));
    return [...new Set([...a.keys(), ...b.keys()])]
      .filter((path) => (a.get(path) ?? null) !== (b.get(path) ?? null))
      .map((path) => `${path}: yours ${shown(a.get(path))}, saved ${shown(b.get(path))}`);
  }

  // A 412: someone wrote to the workspace since the form opened. Read the record again; if it changed, the form
  // shows what is saved now and lists where the director's version differed; if not, the edits stay for a new save.
  async function stale(kind, mine, refused) {
    const k = KINDS[kind];
    const form = roster.form;
    const revision = refused.body && refused.body.revision;
    const now = await call(k.path + encodeURIComponent(mine.id));
    const since = `since this form opened (the workspace is now at revision ${revision})`;
    clearErrors($(k.form));
    if (now.status === 404) {
      form.etag = `"${revision}"`;
      if (form.mode === "edit") {
        form.mode = "add";
        setFormMode(kind);
        setMessage(k.message, `Not saved: someone removed this ${k.noun} ${since}. Save again to add it back as the form shows it, or cancel.`);
      } else {
        setMessage(k.message, `Not saved yet: the workspace changed ${since}, and no ${k.noun} has this id. Your entries are kept: save again.`);
      }
    } else if (!now.ok) {
      setMessage(k.message, `Not saved: the workspace changed ${since}, and the ${k.noun} could not be read again: ${problemText(now)}`);
    } else if (form.mode === "edit" && JSON.stringify(now.body) === JSON.stringify(form.original)) {
      form.etag = now.etag;
      setMessage(k.message, `Not saved yet: the workspace changed ${since}, but not this ${k.noun}. Your changes are kept: save again to write them.`);
    } else {
      const diffs = differences(mine, now.body);
      const verb = form.mode === "edit" ? "changed this" : "added a";
      Object.assign(form, { mode: "edit", id: now.body.id, etag: now.etag, original: now.body });
      k.fill(now.body);
      setFormMode(kind);
      setMessage(k.message, [`Not saved: someone else ${verb} ${k.noun} ${since}. The form now shows what is saved; make your changes again and save.`,
        ...(diffs.length ? [element("ul", {}, [...diffs.slice(0, 8), ...(diffs.length > 8 ? [`and ${diffs.length - 8} more`] : [])].map((d) => element("li", { text: d })))] : [])]);
    }
    $(k.message).focus?.();
  }

  // ------------------------------------------------------------------ delete, saying what it breaks

  function bookingWords(kind, b) {
    const who = kind === "staff" ? dealName(b.opportunity_id) : staffName(b.staff_id);
    const what = b.kind === "lead" ? "lead" : `${b.demand_id}, ${b.hours_per_week} h/week`;
    return `${b.status}: ${who} · ${what}, ${weekLabel(b.start_week)} to ${weekLabel(b.end_week)}`;
  }

  async function describeDelete() {
    const d = roster.deleting;
    const k = KINDS[d.kind];
    const { items, etag } = await bookingsOf(k.filter, d.id);
    d.etag = etag;
    d.bookings = items.filter((b) => LIVE.includes(b.status));
    const body = $("#delete-body");
    const leaves = d.kind === "staff"
      ? `${d.name} leaves the roster: no later proposal can staff them.`
      : `${d.name} leaves the pipeline with its ${d.demands} demand${d.demands === 1 ? "" : "s"}: no later proposal staffs it.`;
    const parts = [element("p", { text: leaves })];
    if (!d.bookings.length) {
      parts.push(element("p", { text: "No tentative or confirmed booking holds it, so no booking breaks." }));
    } else {
      const confirmed = d.bookings.filter((b) => b.status === "confirmed").length;
      parts.push(element("p", {}, [`${d.bookings.length} booking${d.bookings.length === 1 ? "" : "s"} become `, element("strong", { text: "broken" }),
        " (kept on the board with the reason, never planned or pinned again):"]));
      parts.push(element("ul", { class: "breaks" }, d.bookings.map((b) => element("li", { text: bookingWords(d.kind, b) }))));
      if (confirmed) parts.push(element("p", { text: `${confirmed} of them ${confirmed === 1 ? "is a commitment" : "are commitments"} (confirmed): the next proposal no longer holds ${confirmed === 1 ? "it" : "them"}.` }));
    }
    body.replaceChildren(...parts);
    body.dataset.breaks = String(d.bookings.length);
    $("#delete-title").textContent = `Delete ${d.name}?`;
  }

  async function askDelete(kind) {
    const k = KINDS[kind];
    const form = roster.form;
    roster.deleting = { kind, id: form.id, name: k.name(form.original), demands: (form.original.demands || []).length };
    await describeDelete();
    $(k.dialog).close();
    setMessage("#delete-message", "");
    $("#delete-dialog").showModal();
    $("#delete-cancel").focus(); // the safe choice first
  }

  async function confirmDelete() {
    const d = roster.deleting;
    const k = KINDS[d.kind];
    const answer = await call(k.path + encodeURIComponent(d.id), { method: "DELETE", ifMatch: d.etag });
    if (answer.status === 412) {
      await describeDelete();
      setMessage("#delete-message", `Not deleted: the workspace changed since this list was made (it is now at revision ${answer.body && answer.body.revision}). ` +
        "Here is what deleting breaks now; delete again if it should still go.");
      return;
    }
    $("#delete-dialog").close();
    if (answer.status === 404) {
      await board.reload();
      rosterStatus(`${d.name} was already removed by someone else.`, "done");
      return;
    }
    if (!answer.ok) throw new Error(`${d.name} was not deleted: ${problemText(answer)}`);
    await board.reload();
    const n = d.bookings.length;
    rosterStatus(`${d.name} deleted; ${n ? `${n} booking${n === 1 ? " is" : "s are"} now broken` : "no booking broke"}; the workspace is at revision ${answer.body.revision}.`, "done");
    refocus(d.kind, d.id);
  }

  // ------------------------------------------------------------------ the tables' edit buttons, and the start

  function rosterStatus(message, kind) {
    const el = $("#roster-status");
    el.textContent = message;
    el.dataset.kind = kind;
  }

  // An id in the roster or pipeline table is the button that opens its form (none for a viewer).
  function addEditButtons() {
    if (!writes()) return;
    for (const [table, kind] of [["#staff-table", "staff"], ["#deal-table", "opportunities"]]) {
      for (const row of $(table).querySelectorAll("tbody tr[data-id]")) {
        const id = row.dataset.id;
        row.cells[0].replaceChildren(element("button", { type: "button", class: "link edit", "data-kind": kind, "data-id": id,
          "aria-label": `Edit ${KINDS[kind].name({ id })}`, text: id }));
      }
    }
  }

  // A failure of the network or of a read: said in the open dialog, else beside the tables.
  function guarded(work, where) {
    return async () => {
      if (roster.busy) return;
      roster.busy = true;
      try {
        await work();
      } catch (error) {
        const open = where && where();
        if (open) setMessage(open, error.message || String(error));
        else rosterStatus(error.message || String(error), "error");
      } finally {
        roster.busy = false;
      }
    };
  }

  function start() {
    for (const table of ["#staff-table", "#deal-table"]) {
      $(table).addEventListener("click", (event) => {
        const button = event.target.closest("button.edit");
        if (button) guarded(() => openEditor(button.dataset.kind, button.dataset.id))();
      });
    }
    document.addEventListener("director:tables", addEditButtons);
    $("#staff-add").addEventListener("click", guarded(() => openEditor("staff")));
    $("#deal-add").addEventListener("click", guarded(() => openEditor("opportunities")));
    for (const kind of Object.keys(KINDS)) {
      const k = KINDS[kind];
      const inDialog = () => k.message;
      $(k.form).addEventListener("submit", (event) => {
        event.preventDefault();
        guarded(() => save(kind), inDialog)();
      });
      $(k.remove).addEventListener("click", guarded(() => askDelete(kind), inDialog));
    }
    $("#person-close").addEventListener("click", () => $("#person-dialog").close());
    $("#deal-close").addEventListener("click", () => $("#deal-dialog").close());
    $("#p-skill-add").addEventListener("click", () => {
      const row = skillRow();
      $("#p-skills").append(row);
      renumberSkills();
      row.querySelector(".skill-name").focus();
    });
    $("#p-capacity-same").addEventListener("change", () => setCapacityMode(false));
    $("#p-capacity-weekly").addEventListener("change", () => setCapacityMode(true));
    $("#o-demand-add").addEventListener("click", addDemand);
    for (const id of ["#o-grade", "#o-value", "#o-probability", "#o-excluded"]) $(id).addEventListener("input", explainDeal);
    $("#delete-form").addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(confirmDelete, () => "#delete-message")();
    });
    $("#delete-cancel").addEventListener("click", () => $("#delete-dialog").close());
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
