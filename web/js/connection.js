// The page's link to the clinic's server: landmarks and times out, what to show back.
//
// Every frame gets the next number (seq) and stays in `pending` until the server acknowledges
// it (`ack`: stored durably). When the connection drops, frames keep coming into `pending` (the
// page keeps drawing) for up to BUFFER_S seconds; after a reconnection the page resumes the
// session, the server says which frame it expects next, and the rest is sent again in batches,
// paced within the server's rate limits. Nothing is lost. Beyond BUFFER_S offline, new frames
// are not recorded (the practice on screen goes on) until the connection is back.

const BUFFER_S = 60;               // landmarks kept while the connection is away
const BATCH = 16;                  // frames per message when catching up (the protocol's maximum)
const CATCH_UP_INTERVAL_MS = 70;   // ~14 batches/s: about 230 frames/s, within the server's 300/s
const RETRY_MS = [500, 1000, 2000, 4000, 5000];
const ACCESS_ENDED = new Set([4401, 4403]);
const REPLACED = 4409;             // the same device opened the practice in another window

export class Link {
  constructor(handlers) {
    this.handlers = handlers;      // onView, onStatus(state), onFinished, onRefused(text), onEnded(text), onStarted
    this.ws = null;
    this.sessionId = null;
    this.nextSeq = 0;
    this.pending = [];             // frames not yet acknowledged, oldest first
    this.unsent = 0;               // index into pending of the first frame not sent on this connection
    this.ready = false;            // connected and the session started or resumed
    this.retry = 0;
    this.stopped = false;
    this.paused = false;           // BUFFER_S offline: frames are not recorded for now
    this.waiters = [];
    this.stats = { sent: 0, messages: 0, bytes: 0, reconnects: 0, refused: 0 };
    this.timer = setInterval(() => this.flush(), CATCH_UP_INTERVAL_MS);
  }

  url() {
    return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  }

  connect() {
    const ws = new WebSocket(this.url());
    this.ws = ws;
    this.ready = false;
    ws.onopen = () => {
      this.retry = 0;
      if (this.sessionId !== null) this.send({ type: "resume", session: this.sessionId, next: this.firstPending() });
      this.resolveWaiters("open");
    };
    ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    ws.onclose = (event) => this.closed(ws, event);
    return new Promise((resolve) => this.waiters.push({ on: "open", resolve }));
  }

  resolveWaiters(on, value) {
    const keep = [];
    for (const w of this.waiters) (w.on === on ? w.resolve(value) : keep.push(w));
    this.waiters = keep;
  }

  firstPending() {
    return this.pending.length ? this.pending[0].seq : this.nextSeq;
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const text = JSON.stringify(message);
    this.ws.send(text);
    this.stats.messages += 1;
    this.stats.bytes += text.length;
    return true;
  }

  start(message) {
    this.pending = [];
    this.nextSeq = 0;
    this.unsent = 0;
    this.paused = false;
    this.send(message);
    return new Promise((resolve) => this.waiters.push({ on: "started", resolve }));
  }

  // One frame: {t, p}. Numbered, kept until acknowledged, sent at once when the link is live.
  push(t, pose) {
    if (this.paused) return;
    if (this.pending.length && t - this.pending[0].t > BUFFER_S && !this.ready) {
      this.paused = true;
      this.handlers.onStatus("paused");
      return;
    }
    this.pending.push({ seq: this.nextSeq++, t, p: pose });
    this.flush(true);
  }

  flush(live = false) {
    if (!this.ready) return;
    const backlog = this.pending.length - this.unsent;
    if (backlog <= 0) return;
    if (live && backlog > 1) return;      // catching up: the timer sends batches at its pace
    const frames = this.pending.slice(this.unsent, this.unsent + BATCH);
    if (this.send({ type: "frames", frames })) {
      this.unsent += frames.length;
      this.stats.sent += frames.length;
    }
  }

  acknowledge(ack) {
    let k = 0;
    while (k < this.pending.length && this.pending[k].seq <= ack) k++;
    if (k) {
      this.pending.splice(0, k);
      this.unsent = Math.max(0, this.unsent - k);
    }
    if (this.paused && this.ready && this.pending.length === 0) {
      this.paused = false;
      this.handlers.onStatus("live");
    }
  }

  receive(msg) {
    switch (msg.type) {
      case "started":
      case "resumed":
        this.sessionId = msg.session;
        this.pending = this.pending.filter((f) => f.seq >= msg.next);
        if (msg.type === "started") this.nextSeq = Math.max(this.nextSeq, msg.next);
        this.unsent = 0;
        this.ready = true;
        this.handlers.onStatus("live");
        if (msg.view) this.handlers.onView(msg.view);
        this.resolveWaiters("started", msg);
        this.flush();
        break;
      case "view":
        this.acknowledge(msg.ack);
        this.handlers.onView(msg);
        break;
      case "ack":
        this.acknowledge(msg.ack);
        break;
      case "finished":
        this.sessionId = null;
        this.resolveWaiters("finished", msg);
        break;
      case "revoked":
        this.end(msg.text);
        break;
      case "error":
        this.refused(msg);
        break;
    }
  }

  refused(msg) {
    this.stats.refused += 1;
    if (["gap", "out_of_order", "rate", "no_session"].includes(msg.code) && this.sessionId !== null) {
      // The server did not take some frames: ask where it stands and send again from there.
      this.ready = false;
      setTimeout(() => this.send({ type: "resume", session: this.sessionId, next: this.firstPending() }),
                 msg.code === "rate" ? 1000 : 0);
    } else if (msg.code === "device_refused") {
      this.end(msg.text);
    } else if (msg.text) {
      this.handlers.onRefused(msg.text, msg.code);
      this.resolveWaiters("finished", null);
      this.resolveWaiters("started", null);
    }
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ready = false;
    this.unsent = 0;
    if (this.stopped) return;
    if (ACCESS_ENDED.has(event.code)) {
      this.end(null);
      return;
    }
    if (event.code === REPLACED) {  // two windows would take the connection from each other forever
      this.stop();
      this.handlers.onEnded(this.handlers.replacedText);
      return;
    }
    this.stats.reconnects += 1;
    this.handlers.onStatus("reconnecting");
    const wait = RETRY_MS[Math.min(this.retry++, RETRY_MS.length - 1)];
    setTimeout(() => { if (!this.stopped) this.connect(); }, wait);
  }

  end(text) {
    this.stop();
    this.handlers.onEnded(text);
  }

  // Send everything pending, then finish; resolves with the server's "finished" reply.
  async finish(checkin) {
    const deadline = Date.now() + 30000;
    // every frame sent (the server takes messages in order); acknowledgements are not needed
    while (!(this.ready && this.pending.length - this.unsent === 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const done = new Promise((resolve) => this.waiters.push({ on: "finished", resolve }));
    while (!this.send({ type: "finish", ...checkin }) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    return done;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.ws) this.ws.close(1000);
  }
}
