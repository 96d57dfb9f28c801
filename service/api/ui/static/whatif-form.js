// The what-if form on the workspace: variants built from the change ops of POST /v1/scenarios (lose a person, hire,
// set hours, raise rates, regrade, budget, win probability, add or drop a deal), with pickers filled from the
// workspace's roster and pipeline; run with "base": "workspace" and shown in app.js's side-by-side comparison.
// A 422's field errors are shown beside the rows they name. A viewer's key may not run what-ifs (and sees no rate):
// the form is not shown to them. Its state is window.director.whatif, for tests and curious users.
"use strict";

(() => {
  const director = window.director;
  const L = director.lib;
  const $ = (selector) => document.querySelector(selector);

  const whatif = {
    role: null, // from GET /v1/me
    workspace: null, // GET /v1/workspace when the form was last filled
    staff: [], deals: [], weeks: [], roles: [], regions: [],
    sent: null, // the last scenario document sent
    rows: [], // what it was built from: per variant {fieldset, changes: [li]}, to put the server's errors beside them
    loading: null,
  };
  director.whatif = whatif;

  // ------------------------------------------------------------------ what each change asks for

  const unique = (values) => [...new Set(values.filter((v) => v != null && v !== ""))].sort();
  const words = (text) => String(text || "").replace(/_/g, " ");
  const unitText = (s) => (s.unit.kind === "local_office" ? `${s.unit.region} office` : L.UNIT_WORDS[s.unit.kind] || s.unit.kind);
  const personOptions = () => whatif.staff.map((s) => [s.id, `${s.name || s.id} · ${words(s.role)}, ${unitText(s)} · ${s.id}`]);
  const dealOptions = () => whatif.deals.map((o) => [o.id, `${o.grade} · ${o.name || o.id} (${o.customer || "no customer"}) · ${o.id}`]);
  const gradeOptions = () => L.GRADES.map((g) => [g, `grade ${g}`]);
  const kindOptions = () => Object.entries(L.UNIT_WORDS);
  const roleOptions = () => whatif.roles.map((r) => [r, words(r)]);
  const regionOptions = () => whatif.regions.map((r) => [r, r]);
  const person = (id) => whatif.staff.find((s) => s.id === id);
  const deal = (id) => whatif.deals.find((o) => o.id === id);

  // A problem the form finds before sending, at a field of one change.
  class FormError extends Error {
    constructor(key, message) {
      super(message);
      this.key = key;
    }
  }
  // "" -> null (the server says what is missing); anything else as a number.
  const number = (text) => (String(text).trim() === "" ? null : Number(text));
  const percentShare = (text) => (number(text) == null ? null : Math.round(Number(text) * 1e4) / 1e6);

  function parseSkills(text) {
    const skills = {};
    for (const part of String(text).split(/[;,]/).map((p) => p.trim()).filter(Boolean)) {
      const match = /^([^:\s]+)\s*:\s*(\d+)$/.exec(part);
      if (!match) throw new FormError("skills", `“${part}” is not skill:level (e.g. cloud:4)`);
      skills[match[1]] = Number(match[2]);
    }
    return skills;
  }
  const skillsText = (skills) => Object.entries(skills || {}).map(([k, v]) => `${k}:${v}`).join("; ");
  const capacityText = (capacity) => (Array.isArray(capacity) ? capacity.join("; ") : String(capacity ?? ""));

  function parseCapacity(text) {
    const parts = String(text).split(/[;,\s]+/).filter(Boolean);
    if (!parts.length) return null;
    const figures = parts.map(Number);
    const bad = parts.find((p, i) => Number.isNaN(figures[i]));
    if (bad !== undefined) throw new FormError("capacity_hours", `“${bad}” is not a number of hours`);
    return figures.length === 1 ? figures[0] : figures;
  }

  // An id not yet on the roster or pipeline, nor given to an earlier change of this scenario.
  function freshId(prefix, taken) {
    for (let n = 1; ; n += 1) {
      const id = `${prefix}-${n}`;
      if (!taken.has(id)) {
        taken.add(id);
        return id;
      }
    }
  }

  // The person a hire is modelled on: the same role in the same region and unit kind if there is one.
  function template(role, kind, region) {
    const same = whatif.staff.filter((s) => s.role === role);
    return same.find((s) => s.unit.kind === kind && s.unit.region === region) || same.find((s) => s.unit.region === region) || same[0];
  }
  function unitId(kind, region) {
    const unit = whatif.staff.find((s) => s.unit.kind === kind && s.unit.region === region)
      || (kind !== "local_office" && whatif.staff.find((s) => s.unit.kind === kind));
    return unit ? unit.unit.id : `${kind}-${region}`;
  }

  // Each op: its words, its fields (`paths`: where the server's errors about a field point, after the change's
  // own path), `prefill(v, set)` to propose values from the roster or pipeline, and `build(v, taken)` -> the op.
  const OPS = {
    remove_staff: {
      label: "Lose a person",
      fields: [{ key: "staff_id", label: "Person", kind: "select", options: personOptions, wide: true }],
      build: (v) => ({ staff_id: v.staff_id }),
    },
    add_staff: {
      label: "Hire",
      fields: [
        { key: "role", label: "Role", kind: "select", options: roleOptions, paths: ["staff.role"] },
        { key: "unit_kind", label: "Unit", kind: "select", options: kindOptions, value: "local_office", paths: ["staff.unit.kind"] },
        { key: "region", label: "Region", kind: "select", options: regionOptions, paths: ["staff.unit"] },
        { key: "hourly_rate", label: "Rate per hour", kind: "number", min: 0, step: 1, paths: ["staff.hourly_rate"] },
        { key: "capacity_hours", label: "Hours a week", kind: "number", min: 0, max: 168, step: 1, value: "40", paths: ["staff.capacity_hours"] },
        { key: "skills", label: "Skills (skill:level; …)", kind: "text", paths: ["staff.skills"], size: 30 },
        { key: "can_lead", label: "May lead deals", kind: "checkbox", paths: ["staff.can_lead"] },
      ],
      paths: ["staff"],
      prefill(v, set) {
        const model = template(v.role, v.unit_kind, v.region);
        if (!model) return;
        set("hourly_rate", String(model.hourly_rate ?? ""));
        set("skills", skillsText(model.skills));
        set("can_lead", model.can_lead);
      },
      build(v, taken) {
        const model = template(v.role, v.unit_kind, v.region);
        return {
          staff: {
            id: freshId("hire", taken),
            name: `New ${words(v.role)} (${v.region})`,
            role: v.role,
            unit: { kind: v.unit_kind, id: unitId(v.unit_kind, v.region), region: v.region },
            skills: parseSkills(v.skills),
            hourly_rate: number(v.hourly_rate),
            capacity_hours: number(v.capacity_hours),
            can_lead: v.can_lead,
            max_opportunities: model ? model.max_opportunities ?? null : null,
          },
        };
      },
    },
    set_capacity: {
      label: "Set a person's hours",
      fields: [
        { key: "staff_id", label: "Person", kind: "select", options: personOptions, wide: true },
        { key: "capacity_hours", label: "Hours a week", kind: "text", size: 22, placeholder: () => hoursHint() },
      ],
      prefill(v, set) {
        const p = person(v.staff_id);
        if (p) set("capacity_hours", capacityText(p.capacity_hours));
      },
      build: (v) => ({ staff_id: v.staff_id, capacity_hours: parseCapacity(v.capacity_hours) }),
    },
    scale_rates: {
      label: "Raise or cut rates",
      fields: [
        { key: "percent", label: "Change in %", kind: "number", step: 0.1, value: "10", paths: ["factor"] },
        { key: "unit_kind", label: "Unit", kind: "select", options: () => [["", "every unit"], ...kindOptions()] },
        { key: "role", label: "Role", kind: "select", options: () => [["", "every role"], ...roleOptions()] },
      ],
      build: (v) => ({
        factor: number(v.percent) == null ? null : Math.round((1 + Number(v.percent) / 100) * 1e6) / 1e6,
        unit_kind: v.unit_kind || null,
        role: v.role || null,
      }),
    },
    set_grade: {
      label: "Regrade a deal",
      fields: [
        { key: "opportunity_id", label: "Deal", kind: "select", options: dealOptions, wide: true },
        { key: "grade", label: "New grade", kind: "select", options: gradeOptions },
      ],
      prefill(v, set) {
        const o = deal(v.opportunity_id);
        if (o) set("grade", o.grade);
      },
      build: (v) => ({ opportunity_id: v.opportunity_id, grade: v.grade }),
    },
    set_budget: {
      label: "Change a deal's budget",
      fields: [
        { key: "opportunity_id", label: "Deal", kind: "select", options: dealOptions, wide: true },
        { key: "presales_budget", label: "Presales budget (empty: the policy's share)", kind: "number", min: 0, step: 100 },
      ],
      prefill(v, set) {
        const o = deal(v.opportunity_id);
        if (o) set("presales_budget", o.presales_budget == null ? "" : String(o.presales_budget));
      },
      build: (v) => ({ opportunity_id: v.opportunity_id, presales_budget: number(v.presales_budget) }),
    },
    set_win_probability: {
      label: "Change a deal's win probability",
      fields: [
        { key: "opportunity_id", label: "Deal", kind: "select", options: dealOptions, wide: true },
        { key: "percent", label: "Win probability in %", kind: "number", min: 0, max: 100, step: 1, paths: ["win_probability"] },
      ],
      prefill(v, set) {
        const o = deal(v.opportunity_id);
        if (o) set("percent", String(Math.round(o.win_probability * 1000) / 10));
      },
      build: (v) => ({ opportunity_id: v.opportunity_id, win_probability: percentShare(v.percent) }),
    },
    add_opportunity: {
      label: "Add a deal",
      fields: [
        { key: "like", label: "Needs the work of", kind: "select", options: dealOptions, wide: true, paths: ["opportunity.demands"] },
        { key: "name", label: "Name", kind: "text", value: "New deal", size: 16, paths: ["opportunity.name"] },
        { key: "customer", label: "Customer", kind: "text", size: 16, paths: ["opportunity.customer"] },
        { key: "grade", label: "Grade", kind: "select", options: gradeOptions, paths: ["opportunity.grade"] },
        { key: "region", label: "Region", kind: "select", options: regionOptions, paths: ["opportunity.region"] },
        { key: "deal_value", label: "Deal value", kind: "number", min: 0, step: 1000, paths: ["opportunity.deal_value"] },
        { key: "percent", label: "Win probability in %", kind: "number", min: 0, max: 100, step: 1, paths: ["opportunity.win_probability"] },
      ],
      paths: ["opportunity"],
      prefill(v, set) {
        const o = deal(v.like);
        if (!o) return;
        set("customer", o.customer || "");
        set("grade", o.grade);
        set("region", o.region);
        set("deal_value", String(o.deal_value));
        set("percent", String(Math.round(o.win_probability * 1000) / 10));
      },
      build(v, taken) {
        const o = deal(v.like);
        if (!o) throw new FormError("like", "choose the deal whose work the new deal needs");
        return {
          opportunity: {
            id: freshId("new-deal", taken), name: v.name, customer: v.customer, grade: v.grade, stage: o.stage,
            region: v.region, industry: o.industry, deal_value: number(v.deal_value), win_probability: percentShare(v.percent),
            demands: o.demands.map((d) => ({
              id: d.id, skill: d.skill, min_level: d.min_level, hours_per_week: d.hours_per_week,
              start_week: d.start_week, end_week: d.end_week, headcount: d.headcount, remote_ok: d.remote_ok,
            })),
          },
        };
      },
    },
    remove_opportunity: {
      label: "Drop a deal",
      fields: [{ key: "opportunity_id", label: "Deal", kind: "select", options: dealOptions, wide: true }],
      build: (v) => ({ opportunity_id: v.opportunity_id }),
    },
  };

  function hoursHint() {
    const n = whatif.weeks.length;
    return n ? `40, or ${n} figures from ${whatif.weeks[0]}` : "40, or one figure a week";
  }

  // ------------------------------------------------------------------ the rows

  let serial = 0; // ids for labels and error boxes

  function fillOptions(select, options) {
    const kept = select.value;
    select.innerHTML = "";
    for (const [value, text] of options) select.append(new Option(text, value));
    if ([...select.options].some((o) => o.value === kept)) select.value = kept;
  }

  function control(spec) {
    let input;
    if (spec.kind === "select") {
      input = document.createElement("select");
      fillOptions(input, spec.options());
      if (spec.value !== undefined) input.value = spec.value;
      if (spec.wide) input.className = "wide";
    } else {
      input = document.createElement("input");
      input.type = spec.kind === "checkbox" ? "checkbox" : spec.kind;
      for (const attr of ["min", "max", "step", "size"]) if (spec[attr] !== undefined) input.setAttribute(attr, spec[attr]);
      if (spec.placeholder) input.placeholder = spec.placeholder();
      if (spec.value !== undefined) input.value = spec.value;
    }
    input.dataset.key = spec.key;
    // A value the director typed is theirs: proposals from the roster no longer overwrite it.
    input.addEventListener("input", () => { input.dataset.touched = "true"; });
    const label = document.createElement("label");
    label.className = `wf-field${spec.kind === "checkbox" ? " check" : ""}`;
    const text = document.createElement("span");
    text.textContent = spec.label;
    if (spec.kind === "checkbox") label.append(input, text);
    else label.append(text, input);
    return label;
  }

  function valuesOf(li) {
    const v = {};
    for (const input of li.querySelectorAll("[data-key]")) v[input.dataset.key] = input.type === "checkbox" ? input.checked : input.value;
    return v;
  }

  function prefill(li) {
    const spec = OPS[li.dataset.op];
    if (!spec.prefill) return;
    const set = (key, value) => {
      const input = li.querySelector(`[data-key="${key}"]`);
      if (!input || input.dataset.touched) return;
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = value;
    };
    spec.prefill(valuesOf(li), set);
  }

  function setOp(li, op) {
    li.dataset.op = op;
    const fields = li.querySelector(".wf-op-fields");
    fields.innerHTML = "";
    for (const spec of OPS[op].fields) fields.append(control(spec));
    prefill(li);
    label();
  }

  function changeRow(op = "remove_staff") {
    const li = document.createElement("li");
    li.className = "wf-change";
    li.id = `wf-change-${(serial += 1)}`;
    const opLabel = document.createElement("label");
    opLabel.className = "wf-field";
    const opText = document.createElement("span");
    opText.textContent = "Change";
    const opSelect = document.createElement("select");
    opSelect.className = "wf-op";
    fillOptions(opSelect, Object.entries(OPS).map(([name, spec]) => [name, spec.label]));
    opSelect.value = op;
    opLabel.append(opText, opSelect);
    const fields = document.createElement("span");
    fields.className = "wf-op-fields";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary small wf-remove-change";
    remove.textContent = "Remove";
    const line = document.createElement("div");
    line.className = "wf-fields";
    line.append(opLabel, fields, remove);
    const error = document.createElement("p");
    error.className = "wf-error";
    error.id = `${li.id}-error`;
    error.setAttribute("role", "alert");
    error.hidden = true;
    li.append(line, error);
    opSelect.addEventListener("change", () => setOp(li, opSelect.value));
    fields.addEventListener("change", (event) => {
      if (event.target.dataset.key) prefill(li);
    });
    remove.addEventListener("click", () => {
      const fieldset = li.closest(".wf-variant");
      li.remove();
      label();
      fieldset.querySelector(".wf-add-change").focus();
    });
    setOp(li, op);
    return li;
  }

  function variantBox(name) {
    const fieldset = document.createElement("fieldset");
    fieldset.className = "wf-variant";
    fieldset.id = `wf-variant-${(serial += 1)}`;
    fieldset.innerHTML = `<legend></legend>
      <div class="row">
        <label class="inline" for="${fieldset.id}-name">Name</label>
        <input id="${fieldset.id}-name" class="wf-variant-name" required maxlength="200" size="40" aria-describedby="${fieldset.id}-error">
        <button type="button" class="secondary small wf-remove-variant">Remove this variant</button>
      </div>
      <p class="wf-error" id="${fieldset.id}-error" role="alert" hidden></p>
      <ol class="wf-changes"></ol>
      <button type="button" class="secondary small wf-add-change">Add a change</button>`;
    fieldset.querySelector(".wf-variant-name").value = name;
    fieldset.querySelector(".wf-add-change").addEventListener("click", () => {
      const li = changeRow();
      fieldset.querySelector(".wf-changes").append(li);
      label();
      li.querySelector(".wf-op").focus();
    });
    fieldset.querySelector(".wf-remove-variant").addEventListener("click", () => {
      fieldset.remove();
      label();
      $("#wf-add-variant").focus();
    });
    fieldset.querySelector(".wf-changes").append(changeRow());
    return fieldset;
  }

  function addVariant() {
    const count = document.querySelectorAll("#wf-variants .wf-variant").length;
    const box = variantBox(`Variant ${count + 1}`);
    $("#wf-variants").append(box);
    label();
    return box;
  }

  // Accessible names say where a control is: "Person (variant 2, change 1)".
  function label() {
    document.querySelectorAll("#wf-variants .wf-variant").forEach((fieldset, i) => {
      const v = i + 1;
      fieldset.querySelector("legend").textContent = `Variant ${v}`;
      fieldset.querySelector(".wf-variant-name").setAttribute("aria-label", `Name of variant ${v}`);
      fieldset.querySelector(".wf-remove-variant").setAttribute("aria-label", `Remove variant ${v}`);
      fieldset.querySelector(".wf-add-change").setAttribute("aria-label", `Add a change to variant ${v}`);
      fieldset.querySelectorAll(".wf-change").forEach((li, j) => {
        const where = `(variant ${v}, change ${j + 1})`;
        li.querySelector(".wf-op").setAttribute("aria-label", `What changes ${where}`);
        li.querySelector(".wf-remove-change").setAttribute("aria-label", `Remove change ${j + 1} of variant ${v}`);
        for (const input of li.querySelectorAll("[data-key]")) {
          const spec = OPS[li.dataset.op].fields.find((f) => f.key === input.dataset.key);
          input.setAttribute("aria-label", `${spec.label} ${where}`);
        }
      });
    });
  }

  // ------------------------------------------------------------------ the scenario and its errors

  function scenarioDocument() {
    const taken = new Set([...whatif.staff.map((s) => s.id), ...whatif.deals.map((o) => o.id)]);
    const problems = [];
    whatif.rows = [];
    const variants = [...document.querySelectorAll("#wf-variants .wf-variant")].map((fieldset, i) => {
      const items = [...fieldset.querySelectorAll(".wf-change")];
      whatif.rows.push({ fieldset, changes: items });
      return {
        name: fieldset.querySelector(".wf-variant-name").value.trim(),
        changes: items.map((li, j) => {
          try {
            return { op: li.dataset.op, ...OPS[li.dataset.op].build(valuesOf(li), taken) };
          } catch (error) {
            if (!(error instanceof FormError)) throw error;
            problems.push({ path: `variants[${i}].changes[${j}].${error.key}`, message: error.message, local: error.key });
            return null;
          }
        }),
      };
    });
    const limit = number($("#wf-time-limit").value);
    const doc = { name: $("#wf-name").value.trim(), base: "workspace", variants };
    if (limit != null) doc.options = { time_limit_s: limit };
    return { doc, problems };
  }

  function clearErrors() {
    for (const box of document.querySelectorAll("#whatif-builder .wf-error")) {
      box.hidden = true;
      box.innerHTML = "";
    }
    for (const input of document.querySelectorAll("#whatif-builder [aria-invalid]")) {
      input.removeAttribute("aria-invalid");
      if (input.dataset.key) input.removeAttribute("aria-describedby");
    }
  }

  function say(box, fieldLabel, message) {
    const item = document.createElement("span");
    item.className = "wf-problem";
    if (fieldLabel) {
      const where = document.createElement("strong");
      where.textContent = `${fieldLabel}: `;
      item.append(where);
    }
    item.append(message);
    if (box.childNodes.length) box.append(document.createElement("br"));
    box.append(item);
    box.hidden = false;
  }

  // The field of a change a path after it names: the longest of its fields' paths that the path starts with.
  function fieldOf(li, rest) {
    let best = null;
    let length = -1;
    for (const spec of OPS[li.dataset.op].fields) {
      for (const path of [spec.key, ...(spec.paths || [])]) {
        const hit = rest === path || rest.startsWith(`${path}.`) || rest.startsWith(`${path}[`);
        if (hit && path.length > length) [best, length] = [spec, path.length];
      }
    }
    return best;
  }

  // Put each error beside the row it names; return those that name no row (shown in the status line).
  function placeErrors(errors) {
    const elsewhere = [];
    for (const e of errors) {
      const match = /^variants\[(\d+)\](?:\.changes\[(\d+)\])?(?:\.(.*))?$/.exec(e.path || "");
      const variant = match && whatif.rows[Number(match[1])];
      if (!variant) {
        const box = $("#wf-errors");
        say(box, e.path ? e.path.replace(/^name$/, "Scenario name").replace(/^options\.time_limit_s$/, "Seconds per solve") : "", e.message);
        elsewhere.push(e);
        continue;
      }
      const rest = match[3] || "";
      if (match[2] === undefined) {
        const name = variant.fieldset.querySelector(".wf-variant-name");
        if (rest === "name") name.setAttribute("aria-invalid", "true");
        say(variant.fieldset.querySelector(`#${variant.fieldset.id}-error`), rest === "name" ? "Name" : "", e.message);
        continue;
      }
      const li = variant.changes[Number(match[2])];
      if (!li || !li.isConnected) {
        elsewhere.push(e);
        continue;
      }
      const spec = fieldOf(li, rest);
      const box = li.querySelector(".wf-error");
      if (spec) {
        const input = li.querySelector(`[data-key="${spec.key}"]`);
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", box.id);
      }
      say(box, spec ? spec.label : rest && rest !== "op" ? rest : "", e.message);
    }
    const first = document.querySelector("#whatif-builder [aria-invalid=true]");
    if (first) first.focus();
    return elsewhere;
  }

  async function run() {
    clearErrors();
    if (whatif.role === "viewer") throw new Error("a viewer's key may not run what-ifs: use a planner's or an admin's key");
    const { doc, problems } = scenarioDocument();
    if (problems.length) {
      placeErrors(problems);
      L.setStatus(`Not sent: ${problems.length} change${problems.length === 1 ? " needs" : "s need"} a correction, shown beside ${problems.length === 1 ? "it" : "them"}.`, "error");
      return;
    }
    whatif.sent = doc;
    L.setStatus(`Sending “${doc.name}” on the workspace as it is now…`, "busy");
    let accepted;
    try {
      accepted = await L.api("/v1/scenarios?mode=async", { method: "POST", body: doc });
    } catch (error) {
      if (error.status !== 422 || !error.fieldErrors.length) throw error;
      const elsewhere = placeErrors(error.fieldErrors);
      const beside = error.fieldErrors.length - elsewhere.length;
      L.setStatus(`The server refused the what-if: ${error.fieldErrors.length} problem${error.fieldErrors.length === 1 ? "" : "s"}` +
        (beside ? `, ${beside} shown beside ${beside === 1 ? "its change" : "their changes"}` : "") + (elsewhere.length ? ":" : "."), "error", elsewhere);
      return;
    }
    whatif.scenarioId = accepted.id;
    await L.showScenario(accepted.id);
    L.loadLists();
    $("#comparison").scrollIntoView({ block: "start" });
  }

  // ------------------------------------------------------------------ loading

  function refill() {
    for (const li of document.querySelectorAll("#wf-variants .wf-change")) {
      for (const spec of OPS[li.dataset.op].fields) {
        const input = li.querySelector(`[data-key="${spec.key}"]`);
        if (spec.kind === "select" && input) fillOptions(input, spec.options());
        if (spec.placeholder && input) input.placeholder = spec.placeholder();
      }
      prefill(li);
    }
  }

  async function fill() {
    document.body.dataset.whatifReady = "false";
    try {
      const me = await L.api("/v1/me").catch(() => ({ role: "viewer" }));
      whatif.role = me.role;
      const reads = me.role === "viewer";
      $("#whatif-builder").hidden = reads;
      $("#wf-readonly").hidden = !reads;
      if (reads) return;
      const [workspace, staff, deals] = await Promise.all([
        L.api("/v1/workspace"), L.allPages("/v1/workspace/staff"), L.allPages("/v1/workspace/opportunities"),
      ]);
      Object.assign(whatif, {
        workspace, staff, deals, weeks: L.weekLabels(workspace.horizon),
        roles: unique(staff.map((s) => s.role)),
        regions: unique([...staff.map((s) => s.unit.region), ...deals.map((o) => o.region)]),
      });
      const last = whatif.weeks.length - 1;
      $("#wf-base").textContent = `the workspace at revision ${workspace.revision}: ${staff.length} people, ${deals.length} deals, ` +
        `${workspace.horizon.weeks} weeks, ${L.weekRange(whatif.weeks, 0, last)}`;
      if (!document.querySelector("#wf-variants .wf-variant")) addVariant();
      refill();
      $("#whatif-builder").dataset.revision = String(workspace.revision);
    } catch (error) {
      L.showError(error, "Could not load the workspace for the what-if form: ");
    } finally {
      document.body.dataset.whatifReady = "true";
    }
  }

  // One load at a time; a request while one runs loads again after it (the workspace may have changed).
  function load() {
    whatif.loading = (whatif.loading || Promise.resolve()).then(fill);
    return whatif.loading;
  }

  function start() {
    $("#wf-add-variant").addEventListener("click", () => addVariant().querySelector(".wf-variant-name").focus());
    $("#whatif-form").addEventListener("submit", (event) => {
      event.preventDefault();
      L.guarded(run);
    });
    document.addEventListener("director:view", (event) => {
      if (event.detail === "whatif") load();
    });
    document.addEventListener("director:key", () => {
      // What was filled in with the key before goes: another tenant's people, or rates a viewer may not see.
      $("#wf-variants").replaceChildren();
      $("#whatif-builder").hidden = true;
      Object.assign(whatif, { staff: [], deals: [] });
      if (document.body.dataset.view === "whatif") load();
    });
    if (document.body.dataset.view === "whatif") load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
