// curate view: renders the page from the JSON routes. Data is only ever set as text.
"use strict";

const main = document.getElementById("main");
const params = new URLSearchParams(location.search);
const token = params.get("token");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(url + ": " + response.status);
  return response.json();
}

function fmt(value) {
  return value === null || value === undefined ? "–" : Number(value).toPrecision(4);
}

function link(path, query) {
  const q = new URLSearchParams(query || {});
  if (token) q.set("token", token);
  const text = q.toString();
  return path + (text ? "?" + text : "");
}

function scoreLine(scores) {
  return Object.entries(scores)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => k + " " + fmt(v))
    .join(" · ");
}

function thumb(item, kind) {
  if (item.preview) return el("img", { class: "thumb", src: item.preview, loading: "lazy", alt: "" });
  if (item.media && kind === "image-annotate") {
    return el("img", { class: "thumb", src: item.media, loading: "lazy", alt: "" });
  }
  if (item.media) return el("video", { class: "thumb", src: item.media + "#t=0.5", preload: "metadata", muted: "" });
  return el("div", { class: "thumb" });
}

function controls(data, dropped) {
  const form = el("form", { class: "controls", method: "get", action: dropped ? "/dropped" : "/" });
  if (token) form.append(el("input", { type: "hidden", name: "token", value: token }));
  form.append(el("input", { type: "search", name: "q", id: "q", placeholder: "search captions", value: params.get("q") || "" }));
  const sort = el("select", { name: "sort", id: "sort" }, el("option", { value: "id" }, "sort: id"));
  for (const name of data.scores) sort.append(el("option", { value: name, selected: params.get("sort") === name }, "sort: " + name));
  const order = el("select", { name: "order" },
    el("option", { value: "asc" }, "ascending"),
    el("option", { value: "desc", selected: params.get("order") === "desc" }, "descending"));
  const score = el("select", { name: "score" }, el("option", { value: "" }, "filter by score…"));
  for (const name of data.scores) score.append(el("option", { value: name, selected: params.get("score") === name }, name));
  form.append(sort, order, score,
    el("input", { type: "number", step: "any", name: "min", placeholder: "min", value: params.get("min") || "" }),
    el("input", { type: "number", step: "any", name: "max", placeholder: "max", value: params.get("max") || "" }));
  if (dropped) {
    const reason = el("select", { name: "reason", id: "reason" }, el("option", { value: "" }, "every reason"));
    for (const [name, count] of Object.entries(data.reasons)) {
      reason.append(el("option", { value: name, selected: params.get("reason") === name }, name + " (" + count + ")"));
    }
    form.append(reason);
  }
  form.append(el("button", { type: "submit" }, "Apply"));
  return form;
}

function card(item, kind) {
  const body = el("div", { class: "body" },
    el("div", { class: "id" }, item.id),
    item.caption ? el("div", { class: "caption" }, item.caption) : null,
    el("div", { class: "scores" }, scoreLine(item.scores)),
    item.filtered_by ? el("div", { class: "reason" }, item.filtered_by + (item.reason ? ": " + item.reason : "")) : null);
  return el("div", { class: "card", "data-id": item.id },
    el("a", { href: link("/clip/" + encodeURIComponent(item.id)) }, thumb(item, kind), body));
}

function pager(data) {
  const pages = Math.max(1, Math.ceil(data.total / data.per));
  const at = (page) => {
    const q = new URLSearchParams(location.search);
    q.set("page", String(page));
    return location.pathname + "?" + q.toString();
  };
  return el("div", { class: "pager" },
    data.page > 1 ? el("a", { href: at(data.page - 1), id: "prev" }, "← previous") : null,
    el("span", { id: "count" }, data.total + " matching · page " + data.page + " of " + pages),
    data.page < pages ? el("a", { href: at(data.page + 1), id: "next" }, "next →") : null);
}

async function showGrid(dropped) {
  const query = new URLSearchParams(location.search);
  query.delete("token");
  if (dropped) query.set("view", "dropped");
  const data = await getJSON(link("/api/items", query));
  document.getElementById("root").textContent = data.root + " (" + data.kind + ")";
  const grid = el("div", { class: "grid", id: "grid" });
  for (const item of data.items) grid.append(card(item, data.kind));
  main.replaceChildren(controls(data, dropped), pager(data), grid, pager(data));
}

function kv(rows) {
  const table = el("table");
  for (const [key, value] of rows) {
    if (value === null || value === undefined || value === "") continue;
    table.append(el("tr", {}, el("th", {}, key), el("td", {}, String(value))));
  }
  return table;
}

// A video that starts at `t` seconds (the URL's ?t=); its state is kept in data-* attributes
// (duration once loaded, the time reached after a seek) so a link to a moment can be checked.
function playerAt(src, t) {
  // with a start time, the clip is fetched ahead so the seek lands in buffered data
  const video = el("video", { id: "player", src: src, controls: "", preload: t === null ? "metadata" : "auto" });
  video.addEventListener("loadedmetadata", () => {
    video.dataset.duration = String(video.duration);
    if (t !== null && Number.isFinite(Number(t))) video.currentTime = Number(t);
  });
  video.addEventListener("seeked", () => { video.dataset.seeked = String(video.currentTime); });
  video.addEventListener("error", () => { video.dataset.error = String(video.error && video.error.code); });
  return video;
}

async function showItem(id) {
  const data = await getJSON(link("/api/item/" + encodeURIComponent(id)));
  const r = data.record;
  const span = r.span || {};
  const player = data.media
    ? (r.image_path ? el("img", { src: data.media, style: "max-width:100%" })
      : playerAt(data.media, params.get("t")))
    : el("p", { class: "muted" }, "no video was kept for this clip");
  const facts = kv([
    ["status", data.kept ? "kept" : "dropped by " + (r.filtered_by || "?") + (r.filter_reason ? ": " + r.filter_reason : "")],
    ["source", r.source_video || r.source],
    ["span", span.start_s !== undefined ? span.start_s + " s – " + span.end_s + " s (frames " + span.start_frame + "–" + span.end_frame + ")" : null],
    ["duration", r.duration_s !== undefined ? r.duration_s + " s" : null],
    ["size", r.width && r.height ? r.width + "×" + r.height : null],
    ["video codec", r.video_codec], ["audio codec", r.audio_codec === null ? "none" : r.audio_codec],
    ["embedding", r.embedding_path ? r.embedding_path + " (" + r.embedding_dim + " dims)" : "none"],
    ...Object.entries(r.scores || {}).map(([k, v]) => ["score " + k, v === null ? null : fmt(v)]),
    ["caption model", r.caption_model], ["prompt variant", r.caption_prompt_variant],
    ["models", r.models ? Object.entries(r.models).map(([k, v]) => k + ": " + v).join(", ") : null],
  ]);
  const windows = el("div", { id: "windows" });
  for (const w of r.windows || []) {
    windows.append(el("div", { class: "window" },
      w.preview_path ? el("img", { src: "/files/" + w.preview_path, alt: "" }) : null,
      el("div", { class: "muted" }, "frames " + w.start_frame + "–" + w.end_frame + (r.caption_model ? " · " + r.caption_model : "")),
      el("p", { class: "window-caption" }, w.caption || "(no caption)"),
      w.enhanced_caption ? el("p", {}, el("em", {}, "enhanced: "), w.enhanced_caption) : null));
  }
  if (!(r.windows || []).length && r.caption) windows.append(el("div", { class: "window" }, el("p", { class: "window-caption" }, r.caption)));
  const prompt = r.caption_prompt ? el("details", {}, el("summary", {}, "caption prompt"), el("pre", {}, r.caption_prompt)) : null;
  const siblings = el("p", { class: "siblings" }, "clips of this source in order: ");
  for (const s of data.siblings) {
    siblings.append(el("a", { href: link("/clip/" + encodeURIComponent(s.id)), class: s.id === data.id ? "here" : null }, s.id + (s.kept ? "" : " (dropped)")));
  }
  main.replaceChildren(el("div", { class: "clip" }, el("h2", { id: "item-id" }, data.id), player, facts, windows, prompt, siblings,
    el("details", {}, el("summary", {}, "metadata JSON"), el("pre", {}, JSON.stringify(r, null, 2)))));
}

async function showFailures() {
  const data = await getJSON(link("/api/failures"));
  if (!data.failures.length) {
    main.replaceChildren(el("p", { id: "no-failures" }, "This output holds no failure records."));
    return;
  }
  const table = el("table", { id: "failures" }, el("tr", {}, ...["run", "stage", "attempts", "error", "task"].map((h) => el("th", {}, h))));
  for (const f of data.failures) {
    table.append(el("tr", {}, el("td", {}, f.run), el("td", {}, f.stage), el("td", {}, String(f.attempts)),
      el("td", {}, el("pre", {}, f.error)), el("td", {}, el("pre", {}, f.task))));
  }
  main.replaceChildren(table);
}

function pairSide(label, clip, kind) {
  return el("div", { class: "card side" },
    el("a", { href: link("/clip/" + encodeURIComponent(clip.id)) }, thumb(clip, kind),
      el("div", { class: "body" }, el("div", { class: "muted" }, label),
        el("div", { class: "id" }, clip.id),
        clip.caption ? el("div", { class: "caption" }, clip.caption) : null)));
}

function exactSection(data) {
  const noun = data.kind === "image-annotate" ? "images" : "clips";
  const pairs = el("div", { id: "exact-pairs" });
  for (const p of data.exact) {
    pairs.append(el("div", { class: "pair", "data-removed": p.removed.id, "data-of": p.duplicate_of.id },
      pairSide("removed (same bytes)", p.removed, data.kind),
      el("div", { class: "similarity" }, "identical", el("br"), el("span", { class: "muted", title: p.sha256 }, "sha256 " + p.sha256.slice(0, 12) + "…")),
      pairSide("kept", p.duplicate_of, data.kind)));
  }
  const more = data.exact_removed > data.exact_page * data.per
    ? el("a", { href: link("/dedup", { exact_page: String(data.exact_page + 1), ...(data.eps !== null ? { eps: String(data.eps) } : {}) }) }, "more exact duplicates")
    : null;
  return el("div", { id: "exact" },
    el("h3", {}, "Exact duplicates"),
    el("p", { id: "exact-counts" }, data.exact_removed + " " + noun + " removed in " + data.exact_groups +
      " groups of identical bytes (SHA-256), at every eps, before the semantic step"),
    pairs, more);
}

async function showDedup() {
  const query = new URLSearchParams(location.search);
  query.delete("token");
  const data = await getJSON(link("/api/dedup", query));
  const image = data.kind === "image-annotate";
  const noun = image ? "images" : "clips";
  document.getElementById("root").textContent = data.root + (image ? " (image-dedup)" : " (video-dedup)");
  const exact = data.exact_removed || data.eps === null ? exactSection(data) : null;
  if (data.eps === null) {
    main.replaceChildren(el("p", { class: "muted", id: "exact-only" }, "This run found exact duplicates only (--exact-only): no eps to choose."), exact);
    return;
  }
  const go = (eps, cluster) => {
    const q = { eps: String(eps) };
    if (cluster !== null && cluster !== undefined) q.cluster = String(cluster);
    return link("/dedup", q);
  };
  const at = data.eps_values.indexOf(data.eps);
  const slider = el("input", { type: "range", id: "eps-slider", min: "0", max: String(data.eps_values.length - 1), step: "1", value: String(at) });
  slider.addEventListener("change", () => { location.href = go(data.eps_values[Number(slider.value)], data.cluster); });
  const marks = el("span", { class: "muted" }, data.eps_values.map((v) => (v === data.eps ? "[" + v + "]" : String(v))).join("  "));
  const run = data.run_counts && data.run_counts[String(data.eps)];
  const counts = el("p", { id: "dedup-counts" },
    "eps " + data.eps + " (removed when similarity > " + Number(data.threshold).toPrecision(4) + "): keeps " + data.kept +
    ", removes " + data.removed + " of " + data.total + " embedded " + noun + (run ? " (the run wrote: kept " + run.kept + ", removed " + run.removed + ")" : ""));
  const clusters = el("table", { id: "clusters" }, el("tr", {}, el("th", {}, "cluster"), el("th", {}, noun), el("th", {}, "removed at this eps")));
  for (const c of data.clusters) {
    clusters.append(el("tr", { class: c.cluster === data.cluster ? "here" : null },
      el("td", {}, el("a", { href: go(data.eps, c.cluster) }, String(c.cluster))), el("td", {}, String(c.size)), el("td", {}, String(c.removed))));
  }
  const pairs = el("div", { id: "pairs" });
  for (const p of data.pairs) {
    pairs.append(el("div", { class: "pair", "data-removed": p.removed.id, "data-of": p.duplicate_of.id },
      pairSide("removed", p.removed, data.kind),
      el("div", { class: "similarity" }, "cosine " + Number(p.similarity).toFixed(4), el("br"), "cluster " + p.cluster),
      pairSide("duplicate of (kept at this eps unless also listed)", p.duplicate_of, data.kind)));
  }
  if (!data.pairs.length) pairs.append(el("p", { class: "muted", id: "no-pairs" }, "This eps removes no " + (image ? "image" : "clip") + (data.cluster !== null ? " in this cluster." : ".")));
  const title = el("h2", {}, data.cluster !== null ? "Cluster " + data.cluster + " " : "", data.cluster !== null ? el("a", { href: go(data.eps, null) }, "(all clusters)") : null);
  main.replaceChildren(el("div", { class: "controls" }, el("label", { for: "eps-slider" }, "eps "), slider, " ", marks),
    counts, exact, title, el("div", { class: "dedup" }, el("div", {}, el("h3", {}, "Clusters"), clusters),
      el("div", {}, el("h3", {}, data.pairs_total + " removed near-duplicates, most similar first"), pairs)));
}

function bytes(n) {
  return n >= 1048576 ? (n / 1048576).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B";
}

async function showShards() {
  const data = await getJSON(link("/api/shards"));
  document.getElementById("root").textContent = data.root + " (video-shard)";
  const facts = kv([["samples", data.samples], ["complete", data.complete ? "yes" : "no: missing " + (data.missing_tars || []).join(", ")],
    ["clips found", data.clips_found], ["removed by dedup", data.dedup ? data.clips_removed_by_dedup + " (eps " + data.dedup.eps + ")" : null],
    ["clips not written", data.clips_not_written]]);
  const buckets = el("div", { id: "buckets" });
  for (const b of data.buckets) {
    const tars = el("table", { class: "tars" }, el("tr", {}, el("th", {}, "tar"), el("th", {}, "size")));
    for (const t of b.tars) tars.append(el("tr", {}, el("td", {}, el("a", { href: link("/tar/" + t.path) }, t.path)), el("td", {}, bytes(t.bytes))));
    buckets.append(el("div", { class: "bucket", "data-bucket": b.name },
      el("h3", {}, b.name), el("p", { class: "muted" }, b.samples + " samples in " + b.tars.length + " of " + b.tars_planned + " planned tars"), tars));
  }
  main.replaceChildren(facts, buckets);
}

async function showTar(path) {
  const data = await getJSON(link("/api/tar/" + path));
  document.getElementById("root").textContent = path + " (" + bytes(data.bytes) + ")";
  const member = (name) => link("/member/" + path, { name: name });
  const list = el("div", { id: "samples", class: "grid" });
  for (const s of data.samples) {
    const mp4 = s.members.find((m) => m.ext === "mp4");
    const names = el("ul", {});
    for (const m of s.members) names.append(el("li", {}, el("a", { href: member(m.name) }, m.name), " " + bytes(m.size)));
    list.append(el("div", { class: "card sample", "data-key": s.key },
      mp4 ? el("video", { class: "thumb", src: member(mp4.name), controls: "", preload: "metadata" }) : null,
      el("div", { class: "body" }, el("div", { class: "id" }, s.key), names)));
  }
  main.replaceChildren(el("p", {}, el("a", { href: link("/shards") }, "← buckets"), " · " + data.samples.length + " samples"), list);
}

async function showViews() {
  const data = await getJSON(link("/api/items", { per: "1" }));
  document.getElementById("nav-report").hidden = !data.has_report;
  document.getElementById("nav-dedup").hidden = !data.views.dedup;
  document.getElementById("nav-shards").hidden = !data.views.shards;
}

async function route() {
  const path = location.pathname;
  for (const a of document.querySelectorAll("nav a")) {
    a.href = link(a.getAttribute("href").split("?")[0]);
  }
  const named = { "/": "nav-kept", "/dropped": "nav-dropped", "/failures": "nav-failures", "/dedup": "nav-dedup", "/shards": "nav-shards" };
  if (named[path]) document.getElementById(named[path]).classList.add("current");
  try {
    await showViews();
    if (path.startsWith("/clip/")) await showItem(decodeURIComponent(path.slice(6)));
    else if (path === "/failures") await showFailures();
    else if (path === "/dedup") await showDedup();
    else if (path === "/shards") await showShards();
    else if (path.startsWith("/tar/")) await showTar(path.slice(5));
    else await showGrid(path === "/dropped");
  } catch (error) {
    main.replaceChildren(el("p", { class: "reason", id: "error" }, String(error)));
  }
}

route();
