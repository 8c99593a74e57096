// Clipcite web page: collections, upload, search, chat with clickable citations, transcripts.
// Plain browser JavaScript talking to the same /v1 API as the SDKs; no build step, no CDN (works offline).
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { collection: null, collections: [], messages: [], pollTimer: null, currentFile: null };

// ---------- API access ----------
function apiKey() { return localStorage.getItem("clipcite_key") || ""; }

function setApiKey(key) {
  localStorage.setItem("clipcite_key", key);
  // <video> and <img> cannot send headers: the server accepts this cookie for reads only.
  document.cookie = "clipcite_key=" + encodeURIComponent(key) + "; path=/; SameSite=Strict" + (key ? "" : "; max-age=0");
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (apiKey()) h["Authorization"] = "Bearer " + apiKey();
  return h;
}

async function api(method, path, body) {
  const opts = { method, headers: headers(body ? { "Content-Type": "application/json" } : {}) };
  if (body) opts.body = JSON.stringify(body);
  const r = await fetch("/v1" + path, opts);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
  return data;
}

function toast(msg) {
  const t = $("#toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
}

function guard(fn) {
  return (...args) => Promise.resolve(fn(...args)).catch((e) => toast(e.message));
}

// ---------- helpers ----------
function fmt(sec) {
  sec = Math.max(0, Math.floor(sec || 0));
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  const mm = String(m).padStart(h ? 2 : 2, "0"), ss = String(s).padStart(2, "0");
  return (h ? h + ":" : "") + mm + ":" + ss;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// Text with the query's words wrapped in <mark>, built from text nodes (never innerHTML with user text).
function highlighted(text, query) {
  const words = (query || "").toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) || [];
  const span = el("span");
  if (!words.length) { span.textContent = text; return span; }
  const re = new RegExp("(" + words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|") + ")", "giu");
  let last = 0;
  for (const m of text.matchAll(re)) {
    span.append(text.slice(last, m.index), el("mark", {}, m[0]));
    last = m.index + m[0].length;
  }
  span.append(text.slice(last));
  return span;
}

// ---------- player ----------
function play(fileId, start, end, label) {
  const player = $("#player");
  const src = "/v1/files/" + encodeURIComponent(fileId) + "/media";
  player.dataset.fileId = fileId;
  player.dataset.citedStart = start;
  player.dataset.citedEnd = end;
  $("#player-caption").textContent = (label || fileId) + " @ " + fmt(start) + "–" + fmt(end);
  const seek = () => { player.currentTime = start; player.play().catch(() => {}); };
  if (!player.src.endsWith(src)) {
    player.src = src;
    player.addEventListener("loadedmetadata", seek, { once: true });
    player.load();
  } else {
    seek();
  }
  if (state.currentFile !== fileId && state.collection) showTranscript(fileId);
}

$("#player").addEventListener("timeupdate", () => {
  const t = $("#player").currentTime;
  for (const seg of document.querySelectorAll("#transcript .seg")) {
    seg.classList.toggle("playing", t >= +seg.dataset.start && t < +seg.dataset.end);
  }
});

// ---------- collections ----------
async function loadCollections() {
  const data = await api("GET", "/collections?limit=100");
  state.collections = data.data;
  const ul = $("#collections");
  ul.replaceChildren();
  for (const c of data.data) {
    const counts = c.file_status_counts || {};
    const busy = (counts.pending || 0) + (counts.processing || 0);
    const summary = c.file_count + " file" + (c.file_count === 1 ? "" : "s") +
      (busy ? " · " + busy + " processing" : "") + (counts.failed ? " · " + counts.failed + " failed" : "");
    const li = el("li", { dataset: { id: c.id }, onclick: () => selectCollection(c.id) },
      c.name, el("span", { class: "counts" }, summary));
    if (state.collection && state.collection.id === c.id) li.classList.add("active");
    ul.append(li);
  }
  if (state.collection) {
    state.collection = data.data.find((c) => c.id === state.collection.id) || null;
    if (!state.collection) { $("#collection").hidden = true; $("#empty").hidden = false; }
  }
}

async function selectCollection(id) {
  state.collection = state.collections.find((c) => c.id === id);
  state.messages = [];
  $("#chat-log").replaceChildren();
  $("#search-results").replaceChildren();
  $("#collection-name").textContent = state.collection.name;
  $("#collection").hidden = false;
  $("#empty").hidden = true;
  for (const li of document.querySelectorAll("#collections li")) li.classList.toggle("active", li.dataset.id === id);
  await loadVideos();
}

$("#new-collection").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  const name = ev.target.name.value.trim();
  const body = { name, collection_type: "media-descriptions" };
  if (ev.target.segmentation.value === "shots") {
    body.default_segmentation_config = { strategy: "shot-detector", shot_detector_config: { detector: "adaptive" } };
  }
  const c = await api("POST", "/collections", body);
  ev.target.reset();
  await loadCollections();
  await selectCollection(c.id);
}));

// ---------- videos, upload, live progress ----------
async function loadVideos() {
  if (!state.collection) return;
  const cid = state.collection.id;
  const data = await api("GET", "/collections/" + cid + "/videos?limit=100");
  if (!state.collection || state.collection.id !== cid) return;
  const tbody = $("#videos tbody");
  tbody.replaceChildren();
  let busy = false;
  for (const v of data.data) {
    const f = v.file || {};
    const dur = f.video_info ? fmt(f.video_info.duration_seconds) : "";
    let status = el("span", { class: "status-" + v.status }, v.status);
    if (v.status === "pending" || v.status === "processing") {
      busy = true;
      const frac = v.progress ? v.progress.fraction : 0;
      status = el("span", {}, el("progress", { max: "1", value: String(frac) }),
        " " + (v.progress ? v.progress.stage + " " + Math.round(frac * 100) + "%" : v.status));
    }
    if (v.error) status.title = v.error;
    const warn = (f.warnings || []).join("; ");
    const row = el("tr", { dataset: { fileId: v.file_id, status: v.status } },
      el("td", { class: "file", onclick: guard(() => showTranscript(v.file_id, true)) }, f.filename || v.file_id),
      el("td", {}, dur), el("td", { class: "status" }, status, v.error ? el("div", { class: "muted" }, v.error) : null,
        warn ? el("div", { class: "warning", title: "indexed partially" }, "⚠ " + warn) : null),
      el("td", {}, v.segment_count || ""),
      el("td", {}, el("button", { type: "button", title: "Remove from this collection",
        onclick: guard(async () => { await api("DELETE", "/collections/" + cid + "/videos/" + v.file_id); await loadVideos(); }) }, "✕")));
    tbody.append(row);
  }
  clearTimeout(state.pollTimer);
  if (busy) state.pollTimer = setTimeout(guard(async () => { await loadVideos(); await loadCollections(); }), 1000);
}

function uploadOne(file, metadata) {
  // XMLHttpRequest rather than fetch: it reports upload progress.
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("file", file);
    form.append("metadata", JSON.stringify(metadata));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/files");
    for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
    const row = el("tr", {}, el("td", {}, file.name), el("td"), el("td", {}, el("progress", { max: "1", value: "0" }), " uploading"), el("td"), el("td"));
    $("#videos tbody").prepend(row);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) row.querySelector("progress").value = e.loaded / e.total; };
    xhr.onload = () => {
      const data = JSON.parse(xhr.responseText || "{}");
      xhr.status < 300 ? resolve(data) : reject(new Error((data.error && data.error.message) || "upload failed"));
    };
    xhr.onerror = () => reject(new Error("upload failed: network error"));
    xhr.send(form);
  });
}

async function uploadFiles(files) {
  if (!state.collection) throw new Error("select a collection first");
  let metadata;
  try { metadata = JSON.parse($("#upload-metadata").value || "{}"); } catch (e) { throw new Error("metadata is not valid JSON"); }
  if (typeof metadata !== "object" || Array.isArray(metadata) || metadata === null) throw new Error("metadata must be a JSON object");
  for (const file of files) {
    const f = await uploadOne(file, metadata);
    if (f.status === "failed") toast(file.name + ": " + (f.error || "not usable media"));
    else if (f.warnings) toast(file.name + ": indexed partially: " + f.warnings.join("; "));
    await api("POST", "/collections/" + state.collection.id + "/media", { file_id: f.id });
  }
  await loadCollections();
  await loadVideos();
}

const drop = $("#dropzone");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", guard(async (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  await uploadFiles([...e.dataTransfer.files]);
}));
$("#file-input").addEventListener("change", guard(async (e) => {
  const files = [...e.target.files];
  e.target.value = "";
  await uploadFiles(files);
}));

// ---------- per-video transcript ----------
async function showTranscript(fileId, startPlayer) {
  const cid = state.collection.id;
  const box = $("#transcript");
  state.currentFile = fileId;
  let desc;
  try {
    desc = await api("GET", "/collections/" + cid + "/videos/" + fileId + "/media-descriptions");
  } catch (e) {
    box.replaceChildren(el("p", { class: "muted" }, e.message));
    return;
  }
  const name = (desc.file && desc.file.filename) || fileId;
  box.replaceChildren(el("h2", {}, name,
    " ", el("a", { href: "/v1/files/" + fileId + "/transcript.vtt", download: "" }, "VTT"),
    " ", el("a", { href: "/v1/files/" + fileId + "/transcript.srt", download: "" }, "SRT")));
  const within = (items, s) => items.filter((p) => p.start_time < s.end_time && p.end_time > s.start_time);
  for (const s of desc.segment_summary) {
    const seg = el("div", { class: "seg", dataset: { start: s.start_time, end: s.end_time } },
      el("div", { class: "t", onclick: () => play(fileId, s.start_time, s.end_time, name) }, fmt(s.start_time) + "–" + fmt(s.end_time)));
    for (const p of within(desc.speech, s).filter((p) => p.start_time >= s.start_time - 0.01)) {
      seg.append(el("div", { class: "line", onclick: () => play(fileId, p.start_time, p.end_time, name) },
        el("span", { class: "kind" }, fmt(p.start_time)), p.speaker ? p.speaker + ": " : "", p.text));
    }
    for (const p of desc.scene_text.filter((p) => p.start_time === s.start_time)) {
      seg.append(el("div", {}, el("span", { class: "kind" }, "on screen"), p.text));
    }
    for (const p of desc.visual_scene_description.filter((p) => p.start_time === s.start_time)) {
      seg.append(el("div", {}, el("span", { class: "kind" }, "visual"), p.text));
    }
    for (const p of within(desc.audio_description || [], s).filter((p) => p.start_time >= s.start_time - 0.01)) {
      seg.append(el("div", { class: "line", onclick: () => play(fileId, p.start_time, p.end_time, name) },
        el("span", { class: "kind" }, "sound " + fmt(p.start_time)), p.text));
    }
    box.append(seg);
  }
  if (startPlayer && desc.segment_summary.length) play(fileId, 0, desc.segment_summary[0].end_time, name);
}

// ---------- metadata filters (shared by search and chat) ----------
function addFilterRow() {
  const ops = ["Equal", "NotEqual", "Like", "LessThan", "GreaterThan", "ContainsAny", "ContainsAll", "In"];
  const row = el("div", { class: "frow" },
    el("input", { class: "fpath", placeholder: "field (e.g. department)" }),
    el("select", { class: "fop" }, ...ops.map((o) => el("option", { value: o }, o))),
    el("input", { class: "fval", placeholder: "value (comma-separated for lists)" }),
    el("button", { type: "button", onclick: () => row.remove() }, "✕"));
  $("#filter-rows").append(row);
}
$("#add-filter").addEventListener("click", addFilterRow);

function currentFilter() {
  const metadata = [];
  for (const row of document.querySelectorAll("#filter-rows .frow")) {
    const path = row.querySelector(".fpath").value.trim();
    const op = row.querySelector(".fop").value;
    const val = row.querySelector(".fval").value.trim();
    if (!path) continue;
    const item = { path, operator: op };
    if (["ContainsAny", "ContainsAll", "In"].includes(op)) item.valueTextArray = val.split(",").map((v) => v.trim()).filter(Boolean);
    else item.valueText = val;
    metadata.push(item);
  }
  return metadata.length ? { metadata } : undefined;
}

// ---------- search ----------
$("#search-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  const query = $("#search-query").value.trim();
  const body = { scope: "segment", collections: [state.collection.id], query, limit: 10 };
  const filter = currentFilter();
  if (filter) body.filter = filter;
  const res = await api("POST", "/search", body);
  const ol = $("#search-results");
  ol.replaceChildren();
  if (!res.results.length) ol.append(el("li", { class: "muted" }, "No matching segments."));
  for (const r of res.results) {
    const speech = r.speech.map((p) => p.text).join(" ");
    const screen = r.scene_text.map((p) => p.text).join(" | ");
    const visual = r.visual_description.map((p) => p.text).join("; ");
    ol.append(el("li", { class: "result", dataset: { fileId: r.file_id, start: r.start_time, end: r.end_time },
      onclick: () => play(r.file_id, r.start_time, r.end_time, r.filename) },
      el("img", { src: r.thumbnail_url, alt: "", loading: "lazy" }),
      el("div", {},
        el("div", { class: "when" }, (r.filename || r.file_id) + " @ " + fmt(r.start_time) + "–" + fmt(r.end_time)),
        speech ? el("div", { class: "snip" }, el("span", { class: "muted" }, "speech: "), highlighted(speech, query)) : null,
        screen ? el("div", { class: "snip" }, el("span", { class: "muted" }, "on screen: "), highlighted(screen, query)) : null,
        visual ? el("div", { class: "snip muted" }, "visual: " + visual) : null)));
  }
}));

// ---------- chat (streamed) ----------
function citationChips(citations) {
  const box = el("div", { class: "chips" });
  for (const c of citations || []) {
    const label = (c.filename || c.file_id) + " @ " + fmt(c.start_time) + "–" + fmt(c.end_time);
    box.append(el("button", { type: "button", class: "chip", title: c.text || "",
      dataset: { fileId: c.file_id, start: c.start_time, end: c.end_time },
      onclick: () => play(c.file_id, c.start_time, c.end_time, c.filename) }, label));
  }
  return box;
}

async function ask(question) {
  const log = $("#chat-log");
  log.append(el("div", { class: "msg user" }, question));
  const answer = el("div", { class: "msg assistant", dataset: { done: "false" } });
  const text = el("span", { class: "text" });
  answer.append(text);
  log.append(answer);
  state.messages.push({ role: "user", content: question });
  const body = { model: "nimbus-001", messages: state.messages, stream: true, collections: [state.collection.id] };
  const filter = currentFilter();
  if (filter) body.filter = filter;
  const r = await fetch("/v1/chat/completions", { method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body) });
  if (!r.ok) {
    const data = await r.json().catch(() => ({}));
    answer.dataset.done = "true";
    state.messages.pop();
    throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
  }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buf = "", citations = [], grounded = null, grounding = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const payload = line.slice(6);
        if (payload === "[DONE]") continue;
        const chunk = JSON.parse(payload);
        if (chunk.error) throw new Error(chunk.error.message);
        for (const ch of chunk.choices || []) {
          if (ch.delta && ch.delta.content) text.textContent += ch.delta.content;
          if (ch.citations) citations = ch.citations;
          if (ch.grounded !== undefined && ch.grounded !== null) grounded = ch.grounded;
          if (ch.grounding) grounding = ch.grounding;
        }
      }
    }
  }
  state.messages.push({ role: "assistant", content: text.textContent });
  answer.append(citationChips(citations));
  if (grounded === false) {
    // The checks found what the answer says in none of the lines it cites: say so beside the answer.
    const why = grounding && grounding.failed ? " (" + grounding.failed + ")" : "";
    answer.append(el("div", { class: "unsupported" }, "Not supported by the cited moments" + why));
  }
  answer.dataset.grounded = grounded === false ? "false" : "true";
  answer.dataset.done = "true";
}

$("#chat-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  const q = $("#chat-input").value.trim();
  if (!q) return;
  $("#chat-input").value = "";
  await ask(q);
}));
$("#chat-reset").addEventListener("click", () => { state.messages = []; $("#chat-log").replaceChildren(); });

// ---------- tabs, key, start ----------
for (const b of document.querySelectorAll(".tabs button")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll(".tabs button")) o.classList.toggle("active", o === b);
    for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== "tab-" + b.dataset.tab;
    $("#filters").hidden = b.dataset.tab === "videos";
  });
}

$("#apikey").value = apiKey();
$("#apikey").addEventListener("change", guard(async (e) => { setApiKey(e.target.value.trim()); await loadCollections(); }));

async function health() {
  const r = await fetch("/health").then((x) => x.json()).catch(() => null);
  $("#health").textContent = r ? r.segments + " segments · queue " + r.queue_depth + " · " + r.device : "server unreachable";
}

guard(async () => { await health(); await loadCollections(); })();
setInterval(guard(async () => { await health(); await loadCollections(); }), 5000);
