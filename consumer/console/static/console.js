// The logferry console page. Every value from the index is put on the page with textContent (or as an SVG number
// attribute): never innerHTML, so a log line holding markup is shown as the text it is. No inline script or style
// anywhere (the Content-Security-Policy refuses them).
"use strict";

(function () {
  const RANGES = { "15m": 15 * 60e3, "1h": 3600e3, "24h": 24 * 3600e3 };
  const CLASSES = ["unspecified", "trace", "debug", "info", "warn", "error", "fatal"];
  const LIVE_ROWS_MAX = 2000; // rows kept on the page while following; older ones are dropped from the bottom
  const PAUSED_MAX = 5000; // events held while paused
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  const state = {
    chips: {}, // level, service, host, trace_id
    sinceMs: null, untilMs: null, // the range of the last search
    next: null, // the older page's cursor
    live: null, paused: false, held: [],
    histogram: null, drag: null,
    exact: null, // {since, until} as the address gave them (?since=&until=), until the range is changed
  };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function nsOf(ms) { return String(Math.round(ms)) + "000000"; }

  function isoOf(ms) { return new Date(ms).toISOString().replace(".000Z", "Z"); }

  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function levelOf(event) {
    const number = Number(event.severity_number) || 0;
    const cls = number >= 1 && number <= 24 ? CLASSES[Math.floor((number - 1) / 4) + 1] : "unspecified";
    const text = event.severity_text ? String(event.severity_text) : (cls === "unspecified" ? "-" : cls);
    return { cls, text: text.toUpperCase() };
  }

  function bodyText(event) {
    return typeof event.body === "string" ? event.body : JSON.stringify(event.body);
  }

  // The request parameters of the current search (range and chips included).
  function params(withRange) {
    const p = new URLSearchParams();
    p.set("q", $("q").value);
    for (const [key, value] of Object.entries(state.chips)) p.set(key, value);
    if (withRange && state.exact) {
      p.set("since", state.exact.since);
      if (state.exact.until) p.set("until", state.exact.until);
      else p.set("until", nsOf(state.untilMs));
    } else if (withRange) {
      if (state.sinceMs !== null) p.set("since", nsOf(state.sinceMs));
      p.set("until", nsOf(state.untilMs));
    }
    return p;
  }

  async function getJson(path, p) {
    const response = await fetch(path + (p ? "?" + p.toString() : ""), { credentials: "same-origin" });
    let answer = null;
    try { answer = await response.json(); } catch (error) { answer = { error: response.statusText }; }
    if (!response.ok) throw new Error(answer && answer.error ? answer.error : response.statusText);
    return answer;
  }

  function resolveRange() {
    const choice = $("range").value;
    if (choice === "custom" && state.exact) {
      // the address's own since/until are sent as they are (nanoseconds, RFC 3339 or a duration); the inputs
      // show them to the second once the answer says where the range begins and ends
      state.untilMs = Date.now();
      return;
    }
    if (choice === "custom") {
      const since = Date.parse($("since").value + "Z");
      const until = Date.parse($("until").value + "Z");
      if (Number.isNaN(since) || Number.isNaN(until) || since >= until) {
        throw new Error("choose a custom range: from before until (UTC)");
      }
      state.sinceMs = since;
      state.untilMs = until;
    } else if (choice === "all") {
      state.untilMs = Date.now();
      state.sinceMs = null; // from the oldest event kept
    } else {
      state.untilMs = Date.now();
      state.sinceMs = state.untilMs - RANGES[choice];
    }
  }

  function setCustom(sinceMs, untilMs) {
    $("range").value = "custom";
    $("custom-range").hidden = false;
    $("since").value = isoOf(sinceMs).replace("Z", "");
    $("until").value = isoOf(untilMs).replace("Z", "");
  }

  // ---- chips (facet and row clicks) ----
  function renderChips() {
    const box = $("chips");
    clear(box);
    for (const [key, value] of Object.entries(state.chips)) {
      const chip = el("button", "chip", key + ": " + value + "  ×");
      chip.type = "button";
      chip.dataset.field = key;
      chip.title = "remove this filter";
      chip.addEventListener("click", () => { delete state.chips[key]; renderChips(); run(); });
      box.appendChild(chip);
    }
  }

  function narrow(field, value) {
    state.chips[field] = value;
    renderChips();
    run();
  }

  // ---- facets ----
  function renderFacets(facets) {
    for (const field of ["level", "service", "host"]) {
      const list = $("facet-" + field);
      clear(list);
      for (const item of facets[field]) {
        const li = el("li");
        li.dataset.field = field;
        li.dataset.value = item.value === null ? "" : item.value;
        li.appendChild(el("span", "value", item.value === null ? "(none)" : item.value));
        li.appendChild(el("span", "count", item.count));
        if (item.value !== null && !(field === "level" && item.value === "unspecified")) {
          li.addEventListener("click", () => narrow(field, item.value));
        }
        list.appendChild(li);
      }
    }
    const more = facets.complete ? "" : " (counted over the newest candidates only)";
    $("summary").textContent = facets.total.toLocaleString("en") + " events match" + more;
  }

  // ---- histogram ----
  function renderHistogram(h) {
    state.histogram = h;
    const svg = $("histogram");
    clear(svg);
    const buckets = h.buckets;
    const peak = Math.max(1, ...buckets.map((b) => b.total));
    const width = 1000 / Math.max(1, buckets.length);
    buckets.forEach((bucket, index) => {
      const g = document.createElementNS(SVG, "g");
      g.setAttribute("class", "bar");
      g.dataset.index = String(index);
      g.dataset.total = String(bucket.total);
      g.dataset.start = isoOf(bucket.start_ns / 1e6);
      const title = document.createElementNS(SVG, "title");
      title.textContent = isoOf(bucket.start_ns / 1e6) + ": " + bucket.total + " events";
      g.appendChild(title);
      const hit = document.createElementNS(SVG, "rect");
      hit.setAttribute("class", "hit");
      hit.setAttribute("x", String(index * width));
      hit.setAttribute("y", "0");
      hit.setAttribute("width", String(width));
      hit.setAttribute("height", "120");
      g.appendChild(hit);
      let y = 120;
      for (const cls of CLASSES) {
        const count = bucket.counts[cls] || 0;
        if (!count) continue;
        const height = (count / peak) * 116;
        y -= height;
        const rect = document.createElementNS(SVG, "rect");
        rect.setAttribute("class", "sev-" + cls);
        rect.setAttribute("x", String(index * width + width * 0.1));
        rect.setAttribute("y", String(y));
        rect.setAttribute("width", String(Math.max(0.5, width * 0.8)));
        rect.setAttribute("height", String(height));
        rect.dataset.severity = cls;
        rect.dataset.count = String(count);
        g.appendChild(rect);
      }
      svg.appendChild(g);
    });
    const first = h.since_ns / 1e6;
    const last = h.until_ns / 1e6;
    $("axis-start").textContent = isoOf(first);
    $("axis-middle").textContent = isoOf((first + last) / 2);
    $("axis-end").textContent = isoOf(last);
  }

  function bucketAt(clientX) {
    const h = state.histogram;
    if (!h || !h.buckets.length) return null;
    const box = $("histogram").getBoundingClientRect();
    const index = Math.floor(((clientX - box.left) / box.width) * h.buckets.length);
    return Math.min(h.buckets.length - 1, Math.max(0, index));
  }

  function zoomTo(firstIndex, lastIndex) {
    const h = state.histogram;
    const a = Math.min(firstIndex, lastIndex);
    const b = Math.max(firstIndex, lastIndex);
    const interval = h.interval_ns / 1e6;
    const since = Math.max(h.since_ns / 1e6, h.buckets[a].start_ns / 1e6);
    const until = Math.min(h.until_ns / 1e6, h.buckets[b].start_ns / 1e6 + interval);
    state.exact = null;
    setCustom(since, until);
    run();
  }

  function drawSelection(a, b) {
    const svg = $("histogram");
    let selection = svg.querySelector(".selection");
    if (!selection) {
      selection = document.createElementNS(SVG, "rect");
      selection.setAttribute("class", "selection");
      svg.appendChild(selection);
    }
    const width = 1000 / state.histogram.buckets.length;
    selection.setAttribute("x", String(Math.min(a, b) * width));
    selection.setAttribute("y", "0");
    selection.setAttribute("width", String((Math.abs(b - a) + 1) * width));
    selection.setAttribute("height", "120");
  }

  function wireHistogram() {
    const svg = $("histogram");
    svg.addEventListener("mousedown", (event) => {
      const index = bucketAt(event.clientX);
      if (index === null) return;
      state.drag = { from: index, to: index };
      event.preventDefault();
    });
    window.addEventListener("mousemove", (event) => {
      if (!state.drag) return;
      state.drag.to = bucketAt(event.clientX);
      drawSelection(state.drag.from, state.drag.to);
    });
    window.addEventListener("mouseup", (event) => {
      if (!state.drag) return;
      const drag = state.drag;
      state.drag = null;
      const to = bucketAt(event.clientX);
      zoomTo(drag.from, to === null ? drag.to : to);
    });
  }

  // ---- results ----
  function row(event, live) {
    const li = el("li", live ? "event live" : "event");
    li.dataset.eventId = event.event_id ? String(event.event_id) : "";
    const line = el("div", "row");
    const level = levelOf(event);
    line.appendChild(el("span", "time", event.timestamp));
    line.appendChild(el("span", "level lvl-" + level.cls, level.text));
    const resource = event.resource || {};
    line.appendChild(el("span", "service", resource["service.name"] === undefined ? "-" : resource["service.name"]));
    const host = resource["host.name"];
    if (host !== undefined && host !== null) {
      const button = el("button", "linkish host", host);
      button.type = "button";
      button.title = "only this host";
      button.addEventListener("click", (e) => { e.stopPropagation(); narrow("host", String(host)); });
      line.appendChild(button);
    }
    if (event.trace_id) {
      const trace = el("button", "linkish trace", String(event.trace_id).slice(0, 8));
      trace.type = "button";
      trace.title = "every event of trace " + event.trace_id;
      trace.dataset.traceId = String(event.trace_id);
      trace.addEventListener("click", (e) => { e.stopPropagation(); narrow("trace_id", String(event.trace_id)); });
      line.appendChild(trace);
    }
    line.appendChild(el("span", "body", bodyText(event)));
    line.addEventListener("click", () => toggleDetail(li, event));
    li.appendChild(line);
    return li;
  }

  function toggleDetail(li, event) {
    const open = li.querySelector(".detail");
    if (open) {
      li.removeChild(li.querySelector(".detail-actions"));
      li.removeChild(open);
      return;
    }
    const actions = el("div", "detail-actions");
    if (event.trace_id) {
      const trace = el("button", "linkish trace-full", "trace_id " + event.trace_id);
      trace.type = "button";
      trace.addEventListener("click", () => narrow("trace_id", String(event.trace_id)));
      actions.appendChild(trace);
    }
    li.appendChild(actions);
    li.appendChild(el("pre", "detail", JSON.stringify(event, null, 2)));
  }

  function renderPage(answer, append) {
    const list = $("results");
    if (!append) clear(list);
    const fragment = document.createDocumentFragment();
    for (const event of answer.events) fragment.appendChild(row(event, false));
    list.appendChild(fragment);
    state.next = answer.next;
    $("older").hidden = !answer.next;
  }

  async function older() {
    if (!state.next) return;
    const p = params(true);
    p.set("before", state.next);
    try {
      renderPage(await getJson("/api/search", p), true);
    } catch (error) { showError(error.message); }
  }

  let generation = 0;
  async function run() {
    showError("");
    try { resolveRange(); } catch (error) { showError(error.message); return; }
    const mine = ++generation;
    const p = params(true);
    try {
      const [page, facets, histogram] = await Promise.all([
        getJson("/api/search", p), getJson("/api/facets", p), getJson("/api/histogram", p),
      ]);
      if (mine !== generation) return; // a newer search started meanwhile
      renderPage(page, false);
      renderFacets(facets);
      renderHistogram(histogram);
      if (state.exact) {
        state.untilMs = page.until_ns / 1e6;
        state.sinceMs = page.since_ns === null ? null : page.since_ns / 1e6;
        if (state.sinceMs !== null) {
          $("since").value = isoOf(Math.floor(state.sinceMs / 1000) * 1000).replace("Z", "");
          $("until").value = isoOf(Math.ceil(state.untilMs / 1000) * 1000).replace("Z", "");
        }
      }
      document.body.dataset.since = p.get("since") || "";
      document.body.dataset.until = p.get("until");
      document.body.dataset.searched = String(mine);
    } catch (error) {
      if (mine === generation) showError(error.message);
    }
    if (state.live) startLive(); // follow the new filters
  }

  // ---- live tail ----
  function addLive(events) {
    const list = $("results");
    for (const event of events) list.insertBefore(row(event, true), list.firstChild);
    while (list.children.length > LIVE_ROWS_MAX) list.removeChild(list.lastChild);
  }

  function startLive() {
    stopLive();
    const source = new EventSource("/api/tail?" + params(false).toString());
    state.live = source;
    $("live").setAttribute("aria-pressed", "true");
    $("pause").hidden = false;
    $("tail-status").hidden = false;
    $("tail-status").textContent = "Following new events…";
    source.addEventListener("ready", () => { document.body.dataset.live = "ready"; });
    source.addEventListener("events", (message) => {
      const events = JSON.parse(message.data);
      if (state.paused) {
        state.held.push(...events);
        if (state.held.length > PAUSED_MAX) state.held.splice(0, state.held.length - PAUSED_MAX);
        $("tail-status").textContent = "Paused: " + state.held.length + " new event(s) held";
        return;
      }
      addLive(events);
    });
    source.addEventListener("failure", (message) => {
      const answer = JSON.parse(message.data);
      $("tail-status").textContent = "The tail failed: " + answer.error;
    });
  }

  function stopLive() {
    if (state.live) state.live.close();
    state.live = null;
    document.body.dataset.live = "";
  }

  function toggleLive() {
    if (state.live) {
      stopLive();
      $("live").setAttribute("aria-pressed", "false");
      $("pause").hidden = true;
      $("tail-status").hidden = true;
      state.paused = false;
      state.held = [];
    } else {
      startLive();
    }
  }

  function togglePause() {
    state.paused = !state.paused;
    $("pause").setAttribute("aria-pressed", String(state.paused));
    $("pause").textContent = state.paused ? "Resume" : "Pause";
    if (!state.paused) {
      addLive(state.held);
      state.held = [];
      $("tail-status").textContent = "Following new events…";
    }
  }

  // ---- pipeline ----
  function cell(tr, text) { tr.appendChild(el("td", null, text === null || text === undefined ? "-" : text)); }

  async function pipeline() {
    try {
      const status = await getJson("/api/pipeline");
      const body = $("partitions").querySelector("tbody");
      clear(body);
      for (const p of status.partitions) {
        const tr = el("tr");
        for (const key of ["topic", "partition", "stored_offset", "committed_offset", "log_end_offset", "lag"]) cell(tr, p[key]);
        body.appendChild(tr);
      }
      const kafka = status.kafka.available ? "Kafka answers" : "Kafka unavailable: " + status.kafka.error;
      $("pipeline-facts").textContent = "group " + status.group_id + " → " + status.sink + "; " + kafka +
        "; total lag " + (status.total_lag === null ? "-" : status.total_lag) +
        "; last flush " + (status.last_flush || "unknown") + "; " + status.indexed_events + " events indexed, oldest " +
        (status.oldest_event || "-") + "; " + status.dead_letters + " dead letter(s)";
    } catch (error) { $("pipeline-facts").textContent = "Pipeline status failed: " + error.message; }
    try {
      renderAlerts(await getJson("/api/alerts"));
    } catch (error) { $("alerts-facts").textContent = "Alerts failed: " + error.message; }
    try {
      const answer = await getJson("/api/deadletters");
      const body = $("deadletters").querySelector("tbody");
      clear(body);
      for (const d of answer.dead_letters) {
        const tr = el("tr");
        cell(tr, d.received_at);
        cell(tr, d.topic + "[" + d.partition + "]@" + d.offset);
        cell(tr, d.error);
        cell(tr, d.preview);
        tr.addEventListener("click", () => inspect(d));
        body.appendChild(tr);
      }
    } catch (error) { $("pipeline-facts").textContent += " (dead letters: " + error.message + ")"; }
  }

  // ---- alerts (the evaluator's state file, read-only) ----
  function span(seconds) {
    if (seconds % 86400 === 0) return seconds / 86400 + " d";
    if (seconds % 3600 === 0) return seconds / 3600 + " h";
    return Math.round(seconds / 60) + " min";
  }

  function renderAlerts(answer) {
    const body = $("alerts").querySelector("tbody");
    clear(body);
    if (!answer.available) {
      $("alerts-facts").textContent = "No alerts to show: " + answer.reason + ".";
      $("silences").hidden = true;
      return;
    }
    const c = answer.counts;
    $("alerts-facts").textContent = c.firing + " firing, " + c.pending + " pending, " + c.resolved +
      " resolved in the last " + span(answer.resolved_within_s) + "; " + answer.silences.length +
      " silence(s) in force (read " + answer.read_at + "). A click shows an alert's events.";
    for (const alert of answer.alerts) {
      const tr = el("tr", "alert");
      tr.dataset.fingerprint = alert.fingerprint;
      tr.dataset.state = alert.state;
      tr.dataset.rule = alert.rule;
      const state = el("td", "state-" + alert.state, alert.state);
      if (alert.late) state.appendChild(el("span", "late-mark", "late"));
      if (alert.silenced_by.length) state.appendChild(el("span", "silenced-mark", "silenced #" + alert.silenced_by.join(", #")));
      tr.appendChild(state);
      cell(tr, alert.severity);
      cell(tr, alert.rule);
      tr.appendChild(el("td", "group", alert.group_text || "-"));
      cell(tr, alert.started_at);
      cell(tr, alert.fired_at);
      cell(tr, alert.resolved_at);
      tr.appendChild(el("td", "count", alert.count));
      tr.appendChild(el("td", "summary", alert.summary));
      tr.title = alert.search;
      tr.addEventListener("click", () => openSearch(alert.query, alert.since, alert.until));
      body.appendChild(tr);
    }
    const silences = $("silences").querySelector("tbody");
    clear(silences);
    for (const s of answer.silences) {
      const tr = el("tr");
      cell(tr, "#" + s.id);
      cell(tr, s.rule);
      cell(tr, Object.entries(s.matchers).map(([k, v]) => k + "=" + v).join(" ") || "(all)");
      cell(tr, s.until);
      cell(tr, s.comment);
      silences.appendChild(tr);
    }
    $("silences").hidden = answer.silences.length === 0;
  }

  // ---- jobs (shipper exec runs, from the index) ----
  function duration(ms) {
    if (ms === null || ms === undefined) return "-";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 120e3) return (ms / 1000).toFixed(1) + " s";
    return (ms / 60e3).toFixed(1) + " min";
  }

  async function jobs() {
    let answer;
    try { answer = await getJson("/api/jobs"); } catch (error) {
      $("jobs-facts").textContent = "Jobs failed: " + error.message;
      return;
    }
    const body = $("jobs").querySelector("tbody");
    clear(body);
    $("jobs-facts").textContent = answer.jobs.length === 0 ? "No runs of `shipper exec` jobs in the index." :
      answer.jobs.length + " job(s), their last runs newest first" +
      (answer.complete ? "" : " (from the newest " + answer.scanned + " runs: jobs that ran only before them are not listed)") +
      ". A click shows a run's events.";
    for (const job of answer.jobs) {
      job.runs.forEach((run, index) => {
        const tr = el("tr", "run" + (index === 0 ? " job-first" : ""));
        tr.dataset.job = run.job;
        tr.dataset.runId = run.run_id;
        tr.dataset.state = run.state;
        tr.appendChild(el("td", "job", index === 0 ? run.job : ""));
        tr.appendChild(el("td", "run-id", run.run_id));
        cell(tr, run.host);
        cell(tr, run.started_at);
        cell(tr, run.ended_at);
        tr.appendChild(el("td", "duration", duration(run.wall_ms)));
        const code = run.exit_code !== null ? run.exit_code : (run.signal || run.ntstatus);
        tr.appendChild(el("td", "exit-code", code === null || code === undefined ? "-" : code));
        const outcome = run.state === "running" ? "running" : run.outcome;
        tr.appendChild(el("td", "outcome outcome-" + outcome, outcome + (run.timed_out ? " (timeout)" : "")));
        const lines = run.stdout_lines === null && run.stderr_lines === null ? "-" :
          (run.stdout_lines || 0) + " out / " + (run.stderr_lines || 0) + " err";
        cell(tr, lines);
        tr.title = run.search;
        tr.addEventListener("click", () => openSearch(run.search, "", ""));
        body.appendChild(tr);
      });
    }
    document.body.dataset.jobs = String(Date.now());
  }

  // A search from elsewhere (an alert, a job run, the address): the query, and the range since..until (until:
  // now when empty; all time when since is empty too). Chips are dropped: the query says everything.
  function openSearch(q, since, until) {
    stopLiveIfAny();
    state.chips = {};
    renderChips();
    $("q").value = q || "";
    if (since) {
      state.exact = { since: since, until: until || "" };
      $("range").value = "custom";
      $("custom-range").hidden = false;
    } else {
      state.exact = null;
      $("range").value = "all";
      $("custom-range").hidden = true;
    }
    showTab("search");
    run();
  }

  function stopLiveIfAny() {
    if (state.live) toggleLive();
  }

  async function inspect(d) {
    const p = new URLSearchParams({ topic: d.topic, partition: String(d.partition), offset: String(d.offset) });
    const detail = $("deadletter-detail");
    try {
      const letter = await getJson("/api/deadletter", p);
      detail.textContent = d.topic + "[" + d.partition + "]@" + d.offset + " — " + letter.error + "\n" +
        "received " + letter.received_at + ", " + letter.size + " bytes" + (letter.cut ? " (cut)" : "") +
        (letter.redriven_at ? ", redriven " + letter.redriven_at : "") + "\n\n" + letter.raw_text;
    } catch (error) { detail.textContent = error.message; }
    detail.hidden = false;
  }

  let pipelineTimer = null;
  function showTab(name) {
    for (const view of ["search", "jobs", "pipeline"]) {
      $("view-" + view).hidden = name !== view;
      $("tab-" + view).classList.toggle("active", name === view);
    }
    if (pipelineTimer) clearInterval(pipelineTimer);
    pipelineTimer = null;
    if (name === "pipeline") {
      pipeline();
      pipelineTimer = setInterval(pipeline, 5000);
    } else if (name === "jobs") {
      jobs();
      pipelineTimer = setInterval(jobs, 10000);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("search-form").addEventListener("submit", (event) => { event.preventDefault(); run(); });
    $("range").addEventListener("change", () => {
      state.exact = null;
      $("custom-range").hidden = $("range").value !== "custom";
      if ($("range").value === "custom" && state.sinceMs !== null) setCustom(state.sinceMs, state.untilMs);
      else if ($("range").value === "custom" && state.histogram) {
        setCustom(state.histogram.since_ns / 1e6, state.histogram.until_ns / 1e6);
      }
      else run();
    });
    $("older").addEventListener("click", older);
    $("live").addEventListener("click", toggleLive);
    $("pause").addEventListener("click", togglePause);
    $("tab-search").addEventListener("click", () => showTab("search"));
    $("tab-pipeline").addEventListener("click", () => showTab("pipeline"));
    $("tab-jobs").addEventListener("click", () => showTab("jobs"));
    for (const id of ["since", "until"]) $(id).addEventListener("input", () => { state.exact = null; });
    wireHistogram();
    // The address chooses the first search: ?q=&since=&until= (the notifier's links; since and until as the API
    // takes them: RFC 3339, nanoseconds or a duration back; without since, the range below), and #range=all (or
    // 15m, 1h, 24h): `make console` opens the demo's old sample lines with #range=all
    const address = new URLSearchParams(window.location.search);
    const asked = new URLSearchParams(window.location.hash.slice(1)).get("range");
    if (asked && (asked === "all" || RANGES[asked])) $("range").value = asked;
    if (address.has("q")) $("q").value = address.get("q");
    const since = (address.get("since") || "").trim();
    if (since && RANGES[since] && !address.get("until")) {
      $("range").value = since;
    } else if (since) {
      state.exact = { since: since, until: (address.get("until") || "").trim() };
      $("range").value = "custom";
      $("custom-range").hidden = false;
    }
    run();
  });
})();
