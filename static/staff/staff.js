// Staff capture with an offline outbox (Plan B).
// A conversation gets its UUID on the device when saved, waits in IndexedDB, and leaves the
// outbox only after the server answered 2xx; the server treats a repeat of the same id as the
// same record, so retrying is always safe. A 4xx that says the data is wrong moves the item to
// "Needs attention" instead of retrying forever. User text is only ever set with textContent.
(function () {
  "use strict";

  var root = document.getElementById("staff");
  if (!root) return;
  var STATION = root.dataset.station;
  var FLUSH_MS = Math.max(2, Number(root.dataset.flushSeconds) || 20) * 1000;
  var RETRY_LATER = { 401: 1, 408: 1, 425: 1, 429: 1 };

  // ------------------------------------------------------------------ ids and time

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    // Pages over plain http on a LAN address are not a secure context: build a v4 UUID by hand.
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ------------------------------------------------------------------ IndexedDB outbox

  var dbPromise = new Promise(function (resolve, reject) {
    var open = indexedDB.open("tracker-staff", 1);
    open.onupgradeneeded = function () {
      open.result.createObjectStore("outbox", { keyPath: "id" });
      open.result.createObjectStore("attention", { keyPath: "id" });
    };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });

  // Runs fn(stores) in one transaction; resolves with what fn's last request returned.
  function tx(names, mode, fn) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(names, mode);
        var result;
        var stores = {};
        [].concat(names).forEach(function (n) { stores[n] = t.objectStore(n); });
        var req = fn(stores);
        if (req) req.onsuccess = function () { result = req.result; };
        t.oncomplete = function () { resolve(result); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }
  function all(name) { return tx(name, "readonly", function (s) { return s[name].getAll(); }); }
  function getItem(name, id) { return tx(name, "readonly", function (s) { return s[name].get(id); }); }
  function putItem(name, item) { return tx(name, "readwrite", function (s) { return s[name].put(item); }); }
  function removeItem(name, id) { return tx(name, "readwrite", function (s) { return s[name].delete(id); }); }
  function moveItem(from, to, item) {
    return tx([from, to], "readwrite", function (s) { s[from].delete(item.id); return s[to].put(item); });
  }
  function bySaved(items) {
    return items.sort(function (a, b) { return a.savedAt < b.savedAt ? -1 : a.savedAt > b.savedAt ? 1 : 0; });
  }

  // ------------------------------------------------------------------ status badge

  var netEl = document.getElementById("net");
  var waitingEl = document.getElementById("waiting");
  var reachable = navigator.onLine;

  function setReachable(value) { reachable = value; renderNet(); }
  function renderNet() {
    var online = navigator.onLine && reachable;
    netEl.textContent = online ? "Online" : "Offline";
    netEl.dataset.state = online ? "online" : "offline";
  }

  function render() {
    renderNet();
    return Promise.all([all("outbox"), all("attention")]).then(function (lists) {
      var waiting = lists[0].length;
      waitingEl.dataset.count = String(waiting);
      waitingEl.textContent = waiting ? waiting + " waiting to sync" : "All synced";
      renderAttention(bySaved(lists[1]));
      renderPending(bySaved(lists[0]));
    });
  }

  // ------------------------------------------------------------------ sync

  // One flush at a time; a save during a flush asks for another pass, so it does not wait
  // for the timer.
  var flushing = null;
  var again = false;
  function flush() {
    if (flushing) { again = true; return flushing; }
    flushing = sendAll().catch(function () {}).then(function () {
      flushing = null;
      return render();
    }).then(function () {
      if (again) { again = false; return flush(); }
    });
    return flushing;
  }

  function describe(status, json) {
    if (!json) return "The server said " + status + ".";
    var d = json.detail;
    if (Array.isArray(d)) {
      d = d.map(function (e) { return (e.field ? e.field + ": " : "") + e.problem; }).join("; ");
    }
    return (d || json.error || "error " + status) + "";
  }

  function sendAll() {
    return all("outbox").then(function (items) {
      items = bySaved(items);
      var chain = Promise.resolve(true);
      items.forEach(function (item) {
        chain = chain.then(function (go) { return go && sendOne(item); });
      });
      return chain;
    });
  }

  // Resolves true to go on with the next item, false to stop until the next flush.
  function sendOne(item) {
    if (!navigator.onLine) return Promise.resolve(false);
    var url = "/api/conversations" + (item.method === "PUT" ? "/" + item.id : "");
    return fetch(url, {
      method: item.method,
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      body: JSON.stringify(item.body),
    }).then(function (response) {
      setReachable(true);
      if (response.ok) return removeItem("outbox", item.id).then(function () { return true; });
      return response.json().catch(function () { return null; }).then(function (json) {
        if (response.status === 401) { document.getElementById("signed-out").hidden = false; return false; }
        if (RETRY_LATER[response.status] || response.status >= 500) return false;
        item.error = describe(response.status, json);
        item.status = response.status;
        return moveItem("outbox", "attention", item).then(function () { return true; });
      });
    }, function () {
      setReachable(false);
      return false;
    });
  }

  window.addEventListener("online", function () { setReachable(true); flush(); });
  window.addEventListener("offline", renderNet);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  setInterval(flush, FLUSH_MS);

  // ------------------------------------------------------------------ needs attention

  var attentionBox = document.getElementById("attention");
  var attentionList = document.getElementById("attention-list");

  function storyLine(item) {
    var s = item.body.story || "";
    return s.length > 140 ? s.slice(0, 140) + "…" : s;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function button(label, className, onClick) {
    var b = el("button", className, label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function renderAttention(items) {
    if (!attentionBox) return;
    attentionBox.hidden = items.length === 0;
    attentionList.replaceChildren();
    items.forEach(function (item) {
      var li = el("li");
      li.append(
        el("p", "text", storyLine(item)),
        el("p", "error", item.error || "Refused by the server."),
        button("Fix", "secondary", function () { loadIntoForm(item, "attention"); }),
        " ",
        button("Discard", "secondary danger", function () {
          if (window.confirm("Discard this conversation for good?")) removeItem("attention", item.id).then(render);
        })
      );
      attentionList.append(li);
    });
  }

  // ------------------------------------------------------------------ "My station": waiting items

  var pendingBox = document.getElementById("pending");
  var pendingList = document.getElementById("pending-list");

  function renderPending(items) {
    if (!pendingBox) return;
    pendingBox.hidden = items.length === 0;
    pendingList.replaceChildren();
    items.forEach(function (item) {
      var li = el("li", "story waiting");
      li.dataset.id = item.id;
      var meta = el("div", "meta");
      meta.append(
        el("strong", null, item.method === "PUT" ? "Edit waiting to sync" : "Waiting to sync"),
        el("span", null, new Date(item.savedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }))
      );
      if (item.body.nps !== null && item.body.nps !== undefined) meta.append(el("span", "score", item.body.nps));
      var edit = el("a", "button secondary", "Edit");
      edit.href = "/staff/capture?edit=" + encodeURIComponent(item.id);
      li.append(meta, el("p", "text", item.body.story), edit);
      pendingList.append(li);
    });
  }

  // ------------------------------------------------------------------ the capture form

  var form = document.getElementById("capture");
  var currentId = uuid();
  var editing = null; // {id, method, from, savedAt, captured_at}

  function toast(text) {
    var box = document.getElementById("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 2500);
  }

  function showError(text) {
    var box = document.getElementById("form-error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function readForm() {
    var f = form.elements;
    var nps = form.querySelector("input[name=nps]:checked");
    var followUp = f.follow_up.checked;
    var topics = Array.prototype.filter.call(form.querySelectorAll("input[name=topics]"), function (c) { return c.checked; })
      .map(function (c) { return c.value; });
    var badge = f.attendee_badge.value.trim();
    return {
      id: editing ? editing.id : currentId,
      station: STATION,
      story: f.story.value.trim(),
      nps: nps ? Number(nps.value) : null,
      topics: topics,
      public: f.public.checked,
      follow_up: followUp,
      contact: followUp ? f.contact.value.trim() || null : null,
      owner: followUp ? f.owner.value.trim() || null : null,
      attendee_badge: badge || null,
      captured_at: editing && editing.captured_at ? editing.captured_at : new Date().toISOString(),
    };
  }

  function fillForm(body) {
    var f = form.elements;
    f.attendee_badge.value = body.attendee_badge || "";
    f.story.value = body.story || "";
    form.querySelectorAll("input[name=nps]").forEach(function (r) { r.checked = body.nps !== null && Number(r.value) === body.nps; });
    form.querySelectorAll("input[name=topics]").forEach(function (c) { c.checked = (body.topics || []).indexOf(c.value) >= 0; });
    f.public.checked = !!body.public;
    f.follow_up.checked = !!body.follow_up;
    f.contact.value = body.contact || "";
    if (body.follow_up) f.owner.value = body.owner || "";
    syncFollowUp();
  }

  function resetForm() {
    var owner = form.elements.owner.defaultValue;
    form.reset();
    form.elements.owner.value = owner;
    syncFollowUp();
    editing = null;
    currentId = uuid();
    document.getElementById("editing").hidden = true;
    if (location.search) history.replaceState(null, "", location.pathname);
  }

  function syncFollowUp() {
    document.getElementById("follow-up-fields").hidden = !form.elements.follow_up.checked;
  }

  function loadIntoForm(item, from) {
    editing = { id: item.id, method: item.method, from: from, savedAt: item.savedAt, captured_at: item.body.captured_at };
    fillForm(item.body);
    document.getElementById("editing-ref").textContent = item.reference || "a conversation not yet synced";
    document.getElementById("editing").hidden = false;
    if (item.error) showError(item.error);
    window.scrollTo(0, 0);
    form.elements.story.focus();
  }

  function startEditFromUrl() {
    var id = new URLSearchParams(location.search).get("edit");
    if (!id) return;
    getItem("outbox", id).then(function (item) {
      if (item) return loadIntoForm(item, "outbox");
      return getItem("attention", id).then(function (held) {
        if (held) return loadIntoForm(held, "attention");
        return fetch("/api/conversations/" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, json: j }; }); })
          .then(function (res) {
            if (!res.ok) { showError(describe(0, res.json)); return; }
            if (!res.json.editable) { showError("This conversation can no longer be edited."); return; }
            loadIntoForm({ id: res.json.id, method: "PUT", reference: res.json.reference, body: res.json }, "server");
          }, function () { showError("You are offline: conversations already synced can be edited once back online."); });
      });
    });
  }

  var saving = false;
  function save(ev) {
    ev.preventDefault();
    if (saving) return; // a double tap while the first save is running makes one record
    var body = readForm();
    if (!body.story) { showError("Write down their story before saving."); form.elements.story.focus(); return; }
    showError("");
    saving = true;
    var button = document.getElementById("save");
    button.disabled = true;
    var method = editing && editing.method === "PUT" ? "PUT" : "POST";
    var item = { id: body.id, method: method, body: body, savedAt: editing && editing.savedAt ? editing.savedAt : new Date().toISOString() };
    var stored = editing && editing.from === "attention" ? moveItem("attention", "outbox", item) : putItem("outbox", item);
    stored.then(function () {
      toast(editing ? "Saved changes" : "Saved");
      resetForm();
      form.elements.attendee_badge.focus({ preventScroll: true });
      window.scrollTo(0, 0);
      return render();
    }, function (err) {
      showError("Could not save on this device: " + err + ". Keep this page open and try again.");
    }).then(function () {
      saving = false;
      button.disabled = false;
      flush();
    });
  }

  // ------------------------------------------------------------------ badge scanning

  var scanControls = null;
  function loadScanner(src) {
    if (window.ZXingBrowser) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error("scanner library did not load")); };
      document.head.append(s);
    });
  }

  function stopScan() {
    if (scanControls) scanControls.stop();
    scanControls = null;
    document.getElementById("scanner").hidden = true;
  }

  function badgeFrom(text) {
    var last = String(text).trim().split(/[/?#=]/).filter(Boolean).pop() || "";
    return last.toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 20);
  }

  function startScan() {
    var note = document.getElementById("scanner-note");
    document.getElementById("scanner").hidden = false;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      note.textContent = "The camera is not available here (it needs https). Type the badge instead.";
      return;
    }
    note.textContent = "Starting the camera…";
    loadScanner(root.dataset.scanner).then(function () {
      var reader = new window.ZXingBrowser.BrowserQRCodeReader();
      return reader.decodeFromVideoDevice(undefined, document.getElementById("scanner-video"), function (result, err, controls) {
        if (!result) return;
        form.elements.attendee_badge.value = badgeFrom(result.getText());
        controls.stop();
        stopScan();
        toast("Badge scanned");
      });
    }).then(function (controls) {
      scanControls = controls;
      note.textContent = "Point the camera at the QR code on the attendee's passport.";
    }, function (err) {
      note.textContent = "Could not start the camera (" + (err && err.message ? err.message : err) + "). Type the badge instead.";
    });
  }

  // ------------------------------------------------------------------ wiring

  if (form) {
    form.addEventListener("submit", save);
    form.elements.follow_up.addEventListener("change", syncFollowUp);
    // Tapping the chosen score again clears it (a score is optional).
    form.querySelectorAll("input[name=nps]").forEach(function (radio) {
      radio.addEventListener("pointerdown", function () { radio.dataset.was = radio.checked ? "1" : ""; });
      radio.addEventListener("click", function () {
        if (radio.dataset.was === "1") radio.checked = false;
        radio.dataset.was = "";
      });
    });
    document.getElementById("cancel-edit").addEventListener("click", function () { resetForm(); showError(""); });
    document.getElementById("scan").addEventListener("click", startScan);
    document.getElementById("scan-stop").addEventListener("click", stopScan);
    syncFollowUp();
    startEditFromUrl();
  }

  var signout = document.getElementById("signout");
  if (signout) {
    signout.addEventListener("submit", function (ev) {
      var n = Number(waitingEl.dataset.count);
      if (n && !window.confirm(n + " conversations are still waiting to sync. They stay on this device and sync after the next sign-in to this station. Sign out?")) ev.preventDefault();
    });
  }

  if ("serviceWorker" in navigator && root.dataset.sw) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: "/staff/" }).catch(function () {});
  }
  render().then(flush);
})();
