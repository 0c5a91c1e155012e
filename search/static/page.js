const form = document.getElementById("search");
const results = document.getElementById("results");
const statusLine = document.getElementById("status");
const pager = document.getElementById("pager");
const player = document.getElementById("player");
const suggestions = document.getElementById("suggestions");
const didYouMean = document.getElementById("did-you-mean");
const correctedLink = document.getElementById("corrected");
const PAGE_SIZE = 10;
const SUGGEST_AFTER_MS = 150;

function clock(seconds) {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function play(video, moment) {
  const source = `/media/${encodeURIComponent(video.video_id)}`;
  const start = () => { player.currentTime = moment.start_s; player.play().catch(() => {}); };
  document.getElementById("now-playing").textContent = `${video.title || video.video_id} from ${clock(moment.start_s)}`;
  if (player.dataset.videoId === video.video_id && player.readyState >= 1) { start(); return; }
  player.dataset.videoId = video.video_id;
  player.src = source;
  player.addEventListener("loadedmetadata", start, { once: true });
}

function span(first, last) {
  return first === last ? clock(first) : `${clock(first)}–${clock(last)}`;
}

// who appears in the video: a person matched across the library opens their videos, the others only play
function renderPeople(video) {
  if (!video.people.length) return [];
  const row = element("div", { className: "people" }, "people: ");
  for (const seen of video.people) {
    const name = seen.person_id ? `person ${seen.person_id}` : "a person seen nowhere else yet";
    const chip = element("button", { className: "person", type: "button", textContent:
      `${name} · ${span(seen.first_s, seen.last_s)}` });
    chip.dataset.personId = seen.person_id || "";
    chip.addEventListener("click", () => seen.person_id ? showPerson(seen.person_id, 1) : play(video, { start_s: seen.first_s }));
    row.append(chip);
  }
  return [row];
}

function renderHit(hit) {
  const video = hit.video;
  const signals = Object.entries(hit.ranks).map(([s, r]) => `${s} #${r}`).join(", ");
  const box = element("div", { className: "hit" },
    element("h3", { textContent: video.title || video.video_id }),
    element("div", { className: "meta", textContent:
      `${video.channel_id} · ${new Date(video.published_at_ms).toISOString().slice(0, 10)} · ` +
      `${clock(video.duration_s)} · cluster: ${video.cluster_label || "unassigned"} · matched by ${signals}` +
      (hit.copies.length ? ` · ${hit.copies.length} more cop${hit.copies.length === 1 ? "y" : "ies"} of this video` : "") }),
    ...renderPeople(video));
  for (const moment of hit.moments) {
    const words = { title: "title", transcript: "said", ocr: "on screen", seen: "seen", frame: "picture" }[moment.kind];
    const button = element("button", { className: "moment", type: "button" },
      element("span", { className: "at", textContent: moment.kind === "title" ? "title" : clock(moment.start_s) }),
      element("span", { textContent: moment.text ? `${words}: “${moment.text}”` : words }),
      element("div", { className: "why", textContent: moment.reasons.join("; ") }));
    button.dataset.start = moment.start_s;
    button.addEventListener("click", () => play(video, moment));
    box.append(button);
  }
  return box;
}

async function search(page) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (value) params.set(name, value);
  params.set("page", page);
  params.set("page_size", PAGE_SIZE);
  statusLine.textContent = "searching...";
  const response = await fetch(`/api/search?${params}`);
  const body = await response.json();
  results.replaceChildren();
  pager.replaceChildren();
  didYouMean.hidden = !(response.ok && body.did_you_mean);
  if (!didYouMean.hidden) correctedLink.textContent = body.did_you_mean;
  if (!response.ok) {
    const detail = Array.isArray(body.detail) ? body.detail.map(d => d.msg).join("; ") : body.detail;
    statusLine.textContent = `error: ${detail}`;
    return;
  }
  statusLine.textContent = `${body.total} videos · ${body.took_ms} ms · signals: ${body.signals.join(", ")}`;
  for (const warning of body.warnings) statusLine.append(element("div", { className: "warning", textContent: warning }));
  results.append(...body.hits.map(renderHit));
  if (page > 1) pager.append(element("button", { textContent: "previous", onclick: () => search(page - 1) }));
  if (page * PAGE_SIZE < body.total) pager.append(element("button", { textContent: "next", onclick: () => search(page + 1) }));
}

// every indexed video showing one person, newest first, each with when they are on screen
async function showPerson(personId, page) {
  statusLine.textContent = "loading...";
  const response = await fetch(`/api/people/${encodeURIComponent(personId)}?page=${page}&page_size=${PAGE_SIZE}`);
  const body = await response.json();
  results.replaceChildren();
  pager.replaceChildren();
  didYouMean.hidden = true;
  if (!response.ok) { statusLine.textContent = `error: ${body.detail}`; return; }
  form.elements.person.value = personId;
  statusLine.textContent = `person ${personId}: ${body.total} videos (searches now keep to them)`;
  for (const item of body.videos) {
    const video = item.video;
    const box = element("div", { className: "hit person-video" },
      element("h3", { textContent: video.title || video.video_id }),
      element("div", { className: "meta", textContent:
        `${video.channel_id} · ${new Date(video.published_at_ms).toISOString().slice(0, 10)} · ${clock(video.duration_s)}` }));
    for (const seen of item.appearances) {
      const button = element("button", { className: "moment", type: "button" },
        element("span", { className: "at", textContent: clock(seen.first_s) }),
        element("span", { textContent: `on screen ${span(seen.first_s, seen.last_s)}, ${seen.faces} faces` }));
      button.addEventListener("click", () => play(video, { start_s: seen.first_s }));
      box.append(button);
    }
    results.append(box);
  }
  if (page > 1) pager.append(element("button", { textContent: "previous", onclick: () => showPerson(personId, page - 1) }));
  if (page * PAGE_SIZE < body.total) pager.append(element("button", { textContent: "next", onclick: () => showPerson(personId, page + 1) }));
}

form.addEventListener("submit", event => { event.preventDefault(); search(1); });

correctedLink.addEventListener("click", event => {
  event.preventDefault();
  form.elements.q.value = correctedLink.textContent;
  search(1);
});

// completions of what is typed (titles, keywords, frequent queries), asked for once typing pauses
let suggestTimer;
form.elements.q.addEventListener("input", () => {
  clearTimeout(suggestTimer);
  const typed = form.elements.q.value;
  if (!typed.trim()) { suggestions.replaceChildren(); return; }
  suggestTimer = setTimeout(async () => {
    const response = await fetch(`/api/suggest?${new URLSearchParams({ q: typed })}`);
    if (!response.ok || form.elements.q.value !== typed) return;
    const body = await response.json();
    suggestions.replaceChildren(...body.suggestions.map(text => element("option", { value: text })));
  }, SUGGEST_AFTER_MS);
});

fetch("/api/clusters").then(r => r.json()).then(clusters => {
  const select = form.elements.cluster;
  for (const c of clusters) select.append(element("option", { value: c.cluster_id, textContent: `${c.label} (${c.size})` }));
});

// a link such as /?q=sunny+meadow opens with that search
const linked = new URLSearchParams(location.search);
for (const [name, value] of linked) if (form.elements[name]) form.elements[name].value = value;
if (linked.get("q")) search(1);
