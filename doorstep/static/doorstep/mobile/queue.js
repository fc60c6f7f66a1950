// Doorstep mobile workspace: the sealed offline queue (ADR 0024).
// One IndexedDB database per user and device ("doorstep-m-u<user id>"): two officers sharing a phone never
// see each other's queue. A record is sealed (seal.js) before it is stored — only the sealed form and a plain
// summary (no ID numbers, no phones) are kept — and sent in the order recorded, one at a time, each exactly
// once (the server answers a resend of the same client id with its stored answer).
"use strict";

(function () {
  const PREFIX = "doorstep-m-u";
  const MAX_BACKOFF_MS = 60000;
  const PERIOD_MS = 30000;
  const SHOW_ERROR_AFTER = 3; // failures in a row of one item before 待发送 shows why it does not go
  // Records that belong to a patrol started on this phone: sent only once its start was taken.
  const DEPENDENTS = new Set(["patrol_points", "patrol_finding", "patrol_finish"]);
  const HELD = new Set(["waiting", "conflict", "rejected"]);

  function req(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  function done(tx) {
    return new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("aborted"));
    });
  }

  // The phone's local time with its offset, e.g. 2026-11-29T17:05:00.123+08:00.
  function isoNow(date) {
    const d = date || new Date();
    const pad = (n, w) => String(Math.abs(n)).padStart(w || 2, "0");
    const offset = -d.getTimezoneOffset();
    const sign = offset >= 0 ? "+" : "-";
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
      `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}` +
      `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
    );
  }

  class Store {
    constructor(db, name) {
      this.db = db;
      this.name = name;
    }

    static async open(userKey) {
      const name = PREFIX + userKey;
      const request = indexedDB.open(name, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta");
        if (!db.objectStoreNames.contains("items")) db.createObjectStore("items", { keyPath: "id" });
      };
      const db = await req(request);
      const store = new Store(db, name);
      // Another tab deleting this database (logout, revocation) closes our connection instead of blocking it.
      db.onversionchange = () => {
        db.close();
        store.closed = true;
      };
      return store;
    }

    async get(key) {
      return req(this.db.transaction("meta").objectStore("meta").get(key));
    }

    async set(key, value) {
      const tx = this.db.transaction("meta", "readwrite");
      tx.objectStore("meta").put(value, key);
      return done(tx);
    }

    async del(key) {
      const tx = this.db.transaction("meta", "readwrite");
      tx.objectStore("meta").delete(key);
      return done(tx);
    }

    // The next number of a counter kept in the database (record order, patrol point sequence).
    async next(counter) {
      const tx = this.db.transaction("meta", "readwrite");
      const meta = tx.objectStore("meta");
      const value = ((await req(meta.get(counter))) || 0) + 1;
      meta.put(value, counter);
      await done(tx);
      return value;
    }

    // Make the counter's next number at least `next` (the server already holds the numbers below it).
    async atLeast(counter, next) {
      const tx = this.db.transaction("meta", "readwrite");
      const meta = tx.objectStore("meta");
      const value = (await req(meta.get(counter))) || 0;
      if (value < next - 1) meta.put(next - 1, counter);
      await done(tx);
    }

    async items() {
      const all = await req(this.db.transaction("items").objectStore("items").getAll());
      return all.sort((a, b) => a.n - b.n);
    }

    async item(id) {
      return req(this.db.transaction("items").objectStore("items").get(id));
    }

    async put(item) {
      const tx = this.db.transaction("items", "readwrite");
      tx.objectStore("items").put(item);
      return done(tx);
    }

    async remove(id) {
      const tx = this.db.transaction("items", "readwrite");
      tx.objectStore("items").delete(id);
      return done(tx);
    }

    close() {
      this.closed = true;
      this.db.close();
    }
  }

  async function destroy(userKey) {
    const request = indexedDB.deleteDatabase(PREFIX + userKey);
    await new Promise((resolve) => {
      request.onsuccess = resolve;
      request.onerror = resolve;
      request.onblocked = resolve; // the other connections close on versionchange; deletion completes then
    });
  }

  // The sender: posts waiting items in record order, one at a time.
  // hooks: api(path, {method, body}) (throws Error with .status/.detail/.code), onChange(), onRevoked()
  class Outbox {
    constructor(store, hooks) {
      this.store = store;
      this.hooks = hooks;
      this.failures = 0;
      this.retryAt = 0;
      this.running = null;
      this.timer = null;
      this.stopped = false;
      this.misses = new Map(); // item id -> failures in a row
      this.period = setInterval(() => this.tick(), PERIOD_MS);
    }

    stop() {
      this.stopped = true;
      clearInterval(this.period);
      clearTimeout(this.timer);
    }

    async device() {
      return this.store.get("device");
    }

    // Enrol this browser, or (a device already stored) confirm it with the server before anything new is
    // sealed to it: the same device while it is valid, else a new one (a sign-out everywhere, a 2FA reset).
    // `user`: the signed-in user's id, kept with the device. Online only; throws the API error (409
    // device_other_user: the stored device is another user's).
    async ensureDevice(label, user, background) {
      const known = await this.device();
      const body = known ? { label, device: known.device } : { label };
      const answer = await this.hooks.api("device", { method: "POST", body, background: Boolean(background) });
      const device = { device: answer.device, public_key: answer.public_key, user: user === undefined ? (known && known.user) : user };
      if (!known || known.device !== device.device || known.public_key !== device.public_key || known.user !== device.user) {
        await this.store.set("device", device);
      }
      return device;
    }

    // The device was revoked: drop only the records sealed for it (never ones sealed for a newer device).
    async dropDevice(deviceId) {
      const current = await this.device();
      let dropped = 0;
      for (const item of await this.store.items()) {
        if ((item.device || (current && current.device)) === deviceId) {
          await this.store.remove(item.id);
          dropped += 1;
        }
      }
      if (current && current.device === deviceId) await this.store.del("device");
      return dropped;
    }

    async add(kind, record, summary) {
      const device = await this.device();
      if (!device) {
        const error = new Error("本机尚未登记，请联网后再记录");
        error.code = "no_device";
        throw error;
      }
      const id = crypto.randomUUID();
      const n = await this.store.next("order"); // numbered before sealing: two records keep the order made
      const sealed = await window.DoorstepSeal.seal(device.public_key, record, id);
      const item = {
        id,
        n,
        device: device.device, // the device it was sealed for: a revocation drops only these
        patrol: DEPENDENTS.has(kind) && record && record.patrol !== undefined ? String(record.patrol) : null,
        kind,
        recorded_at: isoNow(),
        summary: String(summary || "").slice(0, 120),
        sealed,
        state: "waiting",
        detail: "",
        options: [],
      };
      await this.store.put(item);
      this.hooks.onChange();
      return id;
    }

    async counts() {
      const items = await this.store.items();
      return {
        total: items.length,
        waiting: items.filter((i) => i.state === "waiting").length,
        problems: items.filter((i) => i.state !== "waiting").length,
      };
    }

    tick() {
      if (this.stopped || Date.now() < this.retryAt) return;
      this.counts().then((c) => { if (c.waiting) this.flush(); }).catch(() => {});
    }

    // The connection is back: forget the backoff and send now.
    wake(foreground) {
      this.failures = 0;
      this.retryAt = 0;
      clearTimeout(this.timer);
      return this.flush(foreground);
    }

    later() {
      this.failures += 1;
      const delay = Math.min(MAX_BACKOFF_MS, 2000 * 2 ** (this.failures - 1));
      this.retryAt = Date.now() + delay;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), delay);
    }

    // Send what waits; a call while a round is under way asks for one more round (a record added meanwhile).
    // `foreground`: the officer's own action (a record just made, 立即发送) — the first request of the round
    // counts as activity; rounds started by timers, retries and the `online` event are background.
    flush(foreground) {
      if (foreground) this.foreground = true;
      if (this.running) {
        this.again = true;
        return this.running;
      }
      this.running = (async () => {
        do {
          this.again = false;
          await this.sendAll();
        } while (this.again && !this.stopped && Date.now() >= this.retryAt);
      })().finally(() => {
        this.running = null;
      });
      return this.running;
    }

    async sendAll() {
      if (this.stopped || this.store.closed || !navigator.onLine) return;
      const device = await this.device();
      if (!device) return;
      const all = await this.store.items();
      const waiting = all.filter((i) => i.state === "waiting");
      const background = !this.foreground;
      this.foreground = false;
      for (const item of waiting) {
        if (this.stopped || this.store.closed) return;
        if (!(await this.store.item(item.id))) continue; // dropped meanwhile (an older device's records)
        // A patrol's points, findings and finish wait while its start is still here (not yet taken).
        if (item.patrol && (await this.startHeld(item.patrol))) continue;
        const size = JSON.stringify(item.sealed || "").length;
        let answer;
        try {
          answer = await this.hooks.api("items", {
            method: "POST",
            background,
            timeout: 30000 + Math.ceil((20000 * size) / 1048576), // slow links: 20 s more per MB
            body: {
              device: item.device || device.device,
              id: item.id,
              kind: item.kind,
              recorded_at: item.recorded_at,
              summary: item.summary,
              sealed: item.sealed,
            },
          });
        } catch (error) {
          if (await this.refused(item, error, device)) continue;
          return;
        }
        this.failures = 0;
        this.misses.delete(item.id);
        await this.settle(item, answer);
      }
    }

    async startHeld(ref) {
      const start = await this.store.item(ref);
      return Boolean(start && start.kind === "patrol_start" && HELD.has(start.state));
    }

    // An error answer: true when the item was settled and the next one may go, false to stop sending.
    async refused(item, error, device) {
      const status = error.status || 0;
      if (status === 403 && error.code === "device_revoked") {
        const revoked = item.device || device.device;
        const current = revoked === device.device;
        if (current) this.stop();
        await this.hooks.onRevoked(revoked, current);
        return !current; // an older device's records went; the newer ones may still go
      }
      if (status === 409 && error.code === "device_other_user") {
        this.stop();
        await this.hooks.onOtherUser();
        return false;
      }
      // Only our server's own JSON refusal (a `detail`) is final; a proxy's page, a 200 without JSON, a
      // timeout, server trouble or no session: keep everything and try again later.
      const final = status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status) &&
        error.data && typeof error.data.detail === "string";
      if (!final) {
        const misses = (this.misses.get(item.id) || 0) + 1;
        this.misses.set(item.id, misses);
        if (misses >= SHOW_ERROR_AFTER && !this.store.closed) {
          item.detail = `发送失败（已尝试${misses}次）：${error.detail || error.message || "网络不可用"}`;
          await this.store.put(item);
          this.hooks.onChange();
        }
        this.later();
        return false;
      }
      this.misses.delete(item.id);
      item.state = "rejected";
      item.detail = error.detail || "记录被服务器拒收";
      item.options = [
        { value: "retry", label: "重试", local: true },
        { value: "discard", label: "放弃这条记录", local: true },
      ];
      await this.store.put(item);
      this.hooks.onChange();
      return true;
    }

    // Records of a patrol whose start is in the queue (to offer discarding them with the start).
    async dependents(ref) {
      return (await this.store.items()).filter((i) => i.patrol === String(ref) && i.id !== ref);
    }

    async settle(item, answer) {
      if (answer.status === "applied" || answer.status === "discarded") {
        await this.store.remove(item.id);
      } else {
        item.state = answer.status === "conflict" ? "conflict" : "rejected";
        item.detail = answer.detail || "";
        item.options = Array.isArray(answer.options) ? answer.options : [];
        await this.store.put(item);
      }
      this.hooks.onChange(item, answer);
    }

    // The officer's choice on a conflict or a refusal (retry, discard, or a kind's own option).
    async resolve(id, option) {
      const item = await this.store.item(id);
      if (!item) return null;
      const chosen = (item.options || []).find((o) => o.value === option);
      if (chosen && chosen.local && option === "retry") {
        // Refused locally (the server never kept it): back in the line, sent with the next round.
        item.state = "waiting";
        item.detail = "";
        item.options = [];
        this.misses.delete(id);
        await this.store.put(item);
        this.hooks.onChange();
        this.wake(true);
        return { status: "waiting" };
      }
      if (chosen && chosen.local) {
        await this.store.remove(id);
        this.hooks.onChange();
        return { status: "discarded" };
      }
      const device = await this.device();
      const answer = await this.hooks.api(`items/${encodeURIComponent(id)}/resolve`, {
        method: "POST",
        body: { device: item.device || device.device, option },
      });
      await this.settle(item, answer);
      if (answer.status === "applied") this.flush(true); // what waited behind it (a patrol's points) goes now
      return answer;
    }
  }

  window.DoorstepQueue = { Store, Outbox, destroy, isoNow, PREFIX };
})();
