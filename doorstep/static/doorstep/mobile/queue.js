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

    // Enrol this browser once (online): the server answers the device id and the public key to seal to.
    async ensureDevice(label) {
      const known = await this.device();
      if (known) return known;
      const answer = await this.hooks.api("device", { method: "POST", body: { label } });
      const device = { device: answer.device, public_key: answer.public_key };
      await this.store.set("device", device);
      return device;
    }

    async add(kind, record, summary) {
      const device = await this.device();
      if (!device) {
        const error = new Error("本机尚未登记，请联网后再记录");
        error.code = "no_device";
        throw error;
      }
      const id = crypto.randomUUID();
      const sealed = await window.DoorstepSeal.seal(device.public_key, record, id);
      const item = {
        id,
        n: await this.store.next("order"),
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
      const waiting = (await this.store.items()).filter((i) => i.state === "waiting");
      const background = !this.foreground;
      this.foreground = false;
      for (const item of waiting) {
        if (this.stopped || this.store.closed) return;
        let answer;
        try {
          answer = await this.hooks.api("items", {
            method: "POST",
            background,
            body: {
              device: device.device,
              id: item.id,
              kind: item.kind,
              recorded_at: item.recorded_at,
              summary: item.summary,
              sealed: item.sealed,
            },
          });
        } catch (error) {
          if (await this.refused(item, error)) continue;
          return;
        }
        this.failures = 0;
        await this.settle(item, answer);
      }
    }

    // An error answer: true when the item was settled and the next one may go, false to stop sending.
    async refused(item, error) {
      const status = error.status || 0;
      if (status === 403 && error.code === "device_revoked") {
        this.stop();
        await this.hooks.onRevoked();
        return false;
      }
      if (!status || status >= 500 || status === 401 || status === 403 || status === 429) {
        this.later(); // network, server trouble or no session: keep everything and try again later
        return false;
      }
      // 400, 404, 413: the server will not take this record as it is; the officer sees why and discards it.
      item.state = "rejected";
      item.detail = error.detail || "记录被服务器拒收";
      item.options = [{ value: "discard", label: "放弃这条记录", local: true }];
      await this.store.put(item);
      this.hooks.onChange();
      return true;
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
      if (chosen && chosen.local) {
        await this.store.remove(id);
        this.hooks.onChange();
        return { status: "discarded" };
      }
      const device = await this.device();
      const answer = await this.hooks.api(`items/${encodeURIComponent(id)}/resolve`, {
        method: "POST",
        body: { device: device.device, option },
      });
      await this.settle(item, answer);
      return answer;
    }
  }

  window.DoorstepQueue = { Store, Outbox, destroy, isoNow, PREFIX };
})();
