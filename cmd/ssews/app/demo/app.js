// The ssews demo page: four clients, one per path through the bridge (EventSource
// and WebSocket on an SSE route and on a WebSocket route), each in its own panel.
// Plain browser APIs only, so the page works offline and shows exactly what a
// client of ssews sees.
"use strict";

(function () {
  // Event types the demo upstreams send. EventSource needs a listener per type;
  // "message" covers events without one, "binary" is ssews's type for binary frames.
  const EVENT_TYPES = ["message", "tick", "news", "report", "chat", "presence", "binary"];
  // Rows kept per panel: the page can stay open for days.
  const MAX_ROWS = 60;
  // Messages this page sent, to mark them when they come back.
  const MAX_SENT = 20;
  const sent = [];

  const wsBase = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;

  // Panel is one client's view: a status dot, counters and a log of events.
  class Panel {
    constructor(el) {
      this.el = el;
      this.path = el.dataset.path;
      this.kind = el.dataset.kind;
      this.count = 0;
      this.echoes = 0;
      this.lastId = "";
      this.lastAt = null;
      this.state = "connecting";
      this.dot = el.querySelector(".panel-head .dot");
      this.log = el.querySelector(".log");
      this.stats = el.querySelector(".stats");
      this.stats.innerHTML =
        '<div class="stat"><span class="k">events</span><span class="v" data-count>0</span></div>' +
        '<div class="stat"><span class="k">last id</span><span class="v mono" data-last-id>–</span></div>' +
        '<div class="stat"><span class="k">last event</span><span class="v mono" data-last-at>–</span></div>' +
        '<div class="stat"><span class="k">came back</span><span class="v" data-echoes>0</span></div>';
      this.countEl = this.stats.querySelector("[data-count]");
      this.lastIdEl = this.stats.querySelector("[data-last-id]");
      this.lastAtEl = this.stats.querySelector("[data-last-at]");
      this.echoesEl = this.stats.querySelector("[data-echoes]");
    }

    setState(state, note) {
      this.state = state;
      this.dot.dataset.state = state;
      this.dot.title = note || state;
      updateSummary();
    }

    // add shows one event: type, id and data, newest first.
    add(type, id, data) {
      const now = new Date();
      this.count++;
      if (id) this.lastId = id;
      this.lastAt = now;
      const mine = isMine(data);
      if (mine) this.echoes++;

      const li = document.createElement("li");
      li.className = "row" + (mine ? " mine" : "");
      li.dataset.type = type;
      li.appendChild(span("time mono", clock(now)));
      li.appendChild(span("type t-" + (EVENT_TYPES.includes(type) ? type : "other"), type));
      li.appendChild(span("id mono", id ? "#" + id : ""));
      li.appendChild(span("data mono", data));
      if (mine) li.appendChild(span("back", "came back"));
      this.log.prepend(li);
      while (this.log.childElementCount > MAX_ROWS) this.log.lastElementChild.remove();

      this.countEl.textContent = String(this.count);
      this.lastIdEl.textContent = this.lastId || "–";
      this.lastAtEl.textContent = clock(now);
      this.echoesEl.textContent = String(this.echoes);
      this.el.classList.remove("flash");
      void this.el.offsetWidth; // restart the animation
      this.el.classList.add("flash");
    }

    note(text) {
      const li = document.createElement("li");
      li.className = "row note";
      li.appendChild(span("time mono", clock(new Date())));
      li.appendChild(span("data", text));
      this.log.prepend(li);
    }
  }

  // openEventSource keeps an EventSource on panel's path; the browser reconnects by
  // itself, sending Last-Event-ID.
  function openEventSource(panel) {
    const es = new EventSource(panel.path);
    es.onopen = () => panel.setState("open", "connected");
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        panel.setState("closed", "closed by the server");
        panel.note("stream closed");
      } else {
        panel.setState("connecting", "reconnecting");
      }
    };
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (e) => panel.add(type, e.lastEventId, e.data));
    }
  }

  // openWebSocket keeps a WebSocket on panel's path, reconnecting with backoff and
  // resuming after the last id with ?lastEventId=, as ssews documents.
  function openWebSocket(panel) {
    let delay = 500;
    function connect() {
      const q = panel.lastId ? "?lastEventId=" + encodeURIComponent(panel.lastId) : "";
      const ws = new WebSocket(wsBase + panel.path + q);
      panel.ws = ws;
      ws.onopen = () => {
        delay = 500;
        panel.setState("open", "connected");
      };
      ws.onmessage = (e) => {
        const ev = parseFrame(e.data);
        panel.add(ev.type, ev.id, ev.data);
      };
      ws.onclose = (e) => {
        panel.ws = null;
        panel.setState("connecting", "reconnecting");
        panel.note("closed (" + e.code + (e.reason ? " " + e.reason : "") + "), reconnecting");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    connect();
  }

  // parseFrame reads a frame of either route: ssews's JSON framing of an SSE event
  // ({"event","data","id"}) on /sse, the chat's own envelope on /ws. Data that is not
  // a string is shown as JSON; a frame that is not an object is the data itself.
  function parseFrame(text) {
    try {
      const v = JSON.parse(text);
      if (v && typeof v === "object" && !Array.isArray(v) && "data" in v) {
        const data = typeof v.data === "string" ? v.data : JSON.stringify(v.data);
        return { type: typeof v.event === "string" ? v.event : "message", id: v.id == null ? "" : String(v.id), data: data };
      }
    } catch (_) {
      // not JSON: raw data
    }
    return { type: "message", id: "", data: text };
  }

  // isMine reports whether data carries a message this page sent: as is on /sse, as
  // the chat's {"from","text"} on /ws.
  function isMine(data) {
    if (sent.length === 0) return false;
    let text = data;
    try {
      const v = JSON.parse(data);
      if (v && typeof v.text === "string") text = v.text;
    } catch (_) {
      // plain text
    }
    return sent.includes(text);
  }

  function span(cls, text) {
    const s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }

  function clock(d) {
    const p = (n, w) => String(n).padStart(w || 2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." + p(d.getMilliseconds(), 3);
  }

  let panels = [];

  function updateSummary() {
    const open = panels.filter((p) => p.state === "open").length;
    const dot = document.querySelector("#summary .dot");
    dot.dataset.state = open === panels.length ? "open" : open === 0 ? "closed" : "connecting";
    document.getElementById("summary-text").textContent = open + " of " + panels.length + " clients connected";
  }

  function setupSend() {
    const form = document.getElementById("send");
    const input = document.getElementById("message");
    const target = document.getElementById("target");
    const hint = document.getElementById("send-hint");
    const hintText = hint.innerHTML;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      const want = target.value === "both" ? ["/sse", "/ws"] : ["/" + target.value];
      const via = panels.filter((p) => p.kind === "ws" && want.includes(p.path) && p.ws && p.ws.readyState === WebSocket.OPEN);
      if (via.length === 0) {
        hint.textContent = "No WebSocket is connected yet; try again in a moment.";
        hint.classList.add("warn");
        return;
      }
      sent.push(text);
      if (sent.length > MAX_SENT) sent.shift();
      for (const p of via) p.ws.send(text);
      hint.innerHTML = hintText;
      hint.classList.remove("warn");
      input.value = "";
      input.focus();
    });
  }

  function init() {
    panels = Array.from(document.querySelectorAll(".panel")).map((el) => new Panel(el));
    updateSummary();
    document.getElementById("tail-hint").textContent = "ssews tail " + location.origin + "/sse";
    for (const p of panels) {
      if (p.kind === "es") openEventSource(p);
      else openWebSocket(p);
    }
    setupSend();
  }

  init();
})();
