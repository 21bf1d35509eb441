// The learnware dock's pages: upload (POST /learnwares, then poll) and search (POST /search).
// Vanilla JS, no build step. Untrusted text is only ever set with textContent.
"use strict";

const TOKEN_KEY = "dockToken";
const FILTERS = ["Data", "Task", "Library", "Scenario", "License"];
// Key -> Type, in SemanticSpec.to_dict order (learnware_dock.semantic.FIELDS).
const FIELD_TYPES = {
  Data: "Class", Task: "Class", Library: "Class", Scenario: "Tag", License: "Class",
  Model: "Optional", Name: "String", Description: "String",
};

const $ = (selector) => document.querySelector(selector);

function savedToken() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

function saveToken(token) {
  if (token) {
    localStorage.setItem(TOKEN_KEY, token);
    // Lets the server-rendered pages read a server with private reads.
    document.cookie = `dock_token=${encodeURIComponent(token)}; path=/; SameSite=Strict`;
  } else {
    localStorage.removeItem(TOKEN_KEY);
    document.cookie = "dock_token=; path=/; max-age=0; SameSite=Strict";
  }
}

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// The API's error body {"error": {"code", "message"}} as one line.
async function errorText(response) {
  try {
    const body = await response.json();
    if (body && body.error) return `${body.error.code}: ${body.error.message}`;
  } catch (_) { /* not JSON */ }
  return `HTTP ${response.status} ${response.statusText}`;
}

function selected(select) {
  return select ? Array.from(select.selectedOptions, (o) => o.value).filter((v) => v) : [];
}

// A semantic spec in the learnware dict format, exactly as SemanticSpec.to_dict writes it:
// Class/Tag/Optional keys as {"Type", "Values": [..]}, strings as {"Type", "Values": ".."},
// then Input/Output as {"Dimension", "Description"}. Keys without a value are left out.
function semanticSpec(values) {
  const spec = {};
  for (const [key, type] of Object.entries(FIELD_TYPES)) {
    const value = values[key];
    if (value === undefined || value === null) continue;
    if (type === "String") spec[key] = { Type: type, Values: String(value) };
    else if (value.length) spec[key] = { Type: type, Values: value };
  }
  for (const key of ["Input", "Output"]) {
    if (values[key]) spec[key] = { Dimension: values[key], Description: {} };
  }
  return spec;
}

function dimension(input) {
  const text = input.value.trim();
  return text === "" ? null : Number.parseInt(text, 10);
}

function setStatus(element, status) {
  element.textContent = status;
  element.dataset.status = status;
  element.className = `status status-${status}`;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function statusCell(row, status) {
  const span = document.createElement("span");
  setStatus(span, status);
  row.insertCell().append(span);
}

function idLink(id) {
  const a = document.createElement("a");
  a.href = `/ui/learnwares/${encodeURIComponent(id)}`;
  a.textContent = id;
  return a;
}

function number(value, digits = 4) {
  return value === null || value === undefined ? "" : Number(value).toFixed(digits);
}

// ---- upload ----------------------------------------------------------------------------

function uploadValues() {
  const values = {};
  for (const key of FILTERS) values[key] = selected($(`#sem-${key.toLowerCase()}`));
  const model = selected($("#sem-model"));
  if (model.length) values.Model = model;
  values.Name = $("#name").value.trim();
  values.Description = $("#description").value.trim();
  values.Input = dimension($("#input-dim"));
  values.Output = dimension($("#output-dim"));
  return values;
}

function showReport(report) {
  const table = $("#upload-report");
  const body = table.tBodies[0];
  body.replaceChildren();
  table.hidden = !report;
  for (const r of report ? report.results : []) {
    const row = body.insertRow();
    cell(row, r.checker);
    statusCell(row, r.status);
    cell(row, r.message, "message");
    cell(row, number(r.seconds, 2), "num");
  }
}

async function poll(id, token, delay = 500) {
  const status = $("#upload-status");
  let response;
  try {
    response = await fetch(`/learnwares/${encodeURIComponent(id)}`, { headers: authHeaders(token) });
  } catch (err) {
    $("#upload-message").textContent = `lost the server (${err}); retrying…`;
    setTimeout(() => poll(id, token, Math.min(delay * 2, 5000)), delay);
    return;
  }
  if (!response.ok) {
    setStatus(status, "error");
    $("#upload-message").textContent = await errorText(response);
    $("#upload-submit").disabled = false;
    return;
  }
  const lw = await response.json();
  setStatus(status, lw.status);
  showReport(lw.report);
  if (lw.status === "pending") {
    $("#upload-message").textContent = "checks are running…";
    setTimeout(() => poll(id, token, Math.min(delay * 1.5, 3000)), delay);
    return;
  }
  $("#upload-message").textContent = lw.message || "";
  $("#upload-submit").disabled = false;
}

async function upload(event) {
  event.preventDefault();
  const status = $("#upload-status");
  const message = $("#upload-message");
  const token = $("#token").value.trim();
  const file = $("#package").files[0];
  saveToken(token);
  showReport(null);
  $("#upload-link").hidden = true;
  if (!token) return fail("enter an API token");
  if (!file) return fail("choose a learnware zip");
  const spec = semanticSpec(uploadValues());
  $("#spec-preview").textContent = JSON.stringify(spec, null, 2);
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("semantic_spec", JSON.stringify(spec));
  setStatus(status, "sending");
  message.textContent = "";
  $("#upload-submit").disabled = true;
  let response;
  try {
    response = await fetch("/learnwares", { method: "POST", body: form, headers: authHeaders(token) });
  } catch (err) {
    return fail(`could not reach the server: ${err}`);
  }
  if (response.status !== 202) return fail(await errorText(response));
  const accepted = await response.json();
  const link = $("#upload-link");
  link.href = `/ui/learnwares/${encodeURIComponent(accepted.id)}`;
  link.textContent = `open learnware ${accepted.id}`;
  link.hidden = false;
  setStatus(status, accepted.status);
  poll(accepted.id, token);

  function fail(text) {
    setStatus(status, "error");
    message.textContent = text;
    $("#upload-submit").disabled = false;
  }
}

// ---- search ----------------------------------------------------------------------------

function readJson(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      try { resolve(JSON.parse(reader.result)); } catch (err) { reject(new Error(`${file.name} is not JSON: ${err.message}`)); }
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsText(file);
  });
}

function showSingles(singles, offset) {
  const body = $("#results").tBodies[0];
  body.replaceChildren();
  singles.forEach((match, i) => {
    const row = body.insertRow();
    row.className = "result";
    row.dataset.id = match.learnware.id;
    cell(row, String(offset + i + 1), "rank");
    cell(row, "", "id").append(idLink(match.learnware.id));
    cell(row, match.learnware.name, "name");
    cell(row, number(match.score), "score num");
    cell(row, number(match.distance), "distance num");
  });
  if (!singles.length) cell(body.insertRow(), "no learnware matches", "empty").colSpan = 5;
}

function showMixtures(mixtures) {
  const box = $("#mixtures");
  box.replaceChildren();
  if (!mixtures.length) {
    box.textContent = "no mixture";
    return;
  }
  for (const mixture of mixtures) {
    const div = document.createElement("div");
    div.className = "mixture";
    const head = document.createElement("p");
    head.textContent = `score ${number(mixture.score)} · distance ${number(mixture.distance)}`;
    div.append(head);
    mixture.learnwares.forEach((lw, i) => {
      const weight = mixture.weights[i];
      const row = document.createElement("div");
      row.className = "weight-row";
      row.dataset.id = lw.id;
      const label = document.createElement("span");
      label.className = "weight-label";
      label.append(idLink(lw.id), ` ${lw.name}`);
      const track = document.createElement("div");
      track.className = "weight-track";
      const bar = document.createElement("div");
      bar.className = "weight-bar";
      bar.style.width = `${Math.max(0, Math.min(1, weight)) * 100}%`;
      bar.dataset.weight = String(weight);
      bar.title = `weight ${number(weight, 3)}`;
      track.append(bar);
      const value = document.createElement("span");
      value.className = "weight-value";
      value.textContent = number(weight, 3);
      row.append(label, track, value);
      div.append(row);
    });
    box.append(div);
  }
}

async function search(event) {
  event.preventDefault();
  const status = $("#search-status");
  const file = $("#spec-file").files[0];
  if (!file) {
    status.textContent = "choose a specification JSON file";
    return;
  }
  let stat;
  try {
    stat = await readJson(file);
  } catch (err) {
    status.textContent = err.message;
    return;
  }
  if (!stat || typeof stat.type !== "string") {
    status.textContent = `${file.name} has no "type" key naming its specification`;
    return;
  }
  const values = {};
  for (const key of FILTERS) values[key] = selected($(`#f-${key.toLowerCase()}`));
  const text = $("#f-text").value.trim();
  if (text) values.Name = text;
  const perPage = Number.parseInt($("#per-page").value, 10) || 10;
  const body = {
    semantic_spec: semanticSpec(values),
    stat_specs: { [stat.type]: stat },
    searcher: $("#searcher").value.trim() || null,
    page: 1,
    per_page: Math.max(1, Math.min(100, perPage)),
  };
  status.textContent = "searching…";
  $("#search-submit").disabled = true;
  try {
    const response = await fetch("/search", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authHeaders(savedToken()) },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      status.textContent = await errorText(response);
      return;
    }
    const result = await response.json();
    status.textContent = `${result.total} candidate${result.total === 1 ? "" : "s"}`;
    $("#searcher-name").textContent = `by ${result.searcher}`;
    showSingles(result.singles, (result.page - 1) * result.per_page);
    showMixtures(result.mixtures);
    $("#search-results").hidden = false;
  } catch (err) {
    status.textContent = `could not reach the server: ${err}`;
  } finally {
    $("#search-submit").disabled = false;
  }
}

// ---- wiring ----------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "upload") {
    const token = $("#token");
    token.value = savedToken();
    token.addEventListener("change", () => saveToken(token.value.trim()));
    $("#upload-form").addEventListener("submit", upload);
  } else if (page === "search") {
    $("#search-form").addEventListener("submit", search);
  }
});
