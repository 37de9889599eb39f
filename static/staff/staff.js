// Staff capture with an offline outbox (Plan B).
// A conversation gets its UUID on the device when saved and waits in IndexedDB. Every version is
// sent with PUT /api/conversations/<id> and a revision number (each edit on the device adds one);
// the outbox keeps only the latest version of each record, sends them in the order they were
// first saved, and lets an item go only when the server's answer holds that revision or a newer
// one. "All synced" means exactly that. A 4xx that says the data is wrong moves the item to
// "Needs attention" (with a banner, a beep and a buzz) instead of retrying forever.
// The page learns the server's time from every answer and stamps captures with it.
// User text is only ever set with textContent.
(function () {
  "use strict";

  var root = document.getElementById("staff");
  if (!root) return;
  var STATION = root.dataset.station;
  var TIMEZONE = root.dataset.timezone || undefined;
  var CLOCK_URL = root.dataset.clock || "/staff/time";
  var FLUSH_MS = Math.max(2, Number(root.dataset.flushSeconds) || 20) * 1000;
  var RETRY_LATER = { 401: 1, 408: 1, 425: 1, 429: 1 };
  var BADGE_ALPHABET = root.dataset.badgeAlphabet || "ACDEFGHJKMNPQRTUVWXY34679";
  var BADGE_LENGTH = Number(root.dataset.badgeLength) || 6;
  // Quick mode (the event's setting): the story is optional, and a tap on a topic saves at once,
  // so badge, score and topic are three taps.
  var QUICK = root.dataset.quick === "1";
  // What the server's schema accepts as a capture time; outside it we let the server stamp it.
  var EARLIEST = Date.UTC(2000, 0, 2);
  var LATEST = Date.UTC(2099, 11, 30);

  // ------------------------------------------------------------------ ids

  var uuid = window.tracker.uuid; // static/common.js
  var el = window.tracker.el;
  var t = window.tracker.t; // the page's words, in its language

  function stored(key, value) {
    try {
      if (arguments.length > 1) localStorage.setItem(key, JSON.stringify(value));
      else return JSON.parse(localStorage.getItem(key));
    } catch (e) { return null; }
  }

  // The order of first saves; never goes back, whatever the device clock does.
  function nextSeq() {
    var seq = Math.max((Number(stored("tracker-staff-seq")) || 0) + 1, Date.now());
    stored("tracker-staff-seq", seq);
    return seq;
  }

  // ------------------------------------------------------------------ the server's clock

  // offset = server time - device time, learned from every answer while online (the HTTP Date
  // header, whole seconds) and from /staff/time (milliseconds). Kept in localStorage, so a page
  // opened offline still stamps with the last correction.
  var CLOCK_KEY = "tracker-staff-clock";
  var clock = stored(CLOCK_KEY);
  if (!clock || !isFinite(clock.offset)) clock = null;
  var clockLearnedAt = null; // performance.now() of the last lesson in this page

  function learnClock(response, sentAt, preciseServerMs) {
    var receivedAt = Date.now();
    var server = preciseServerMs;
    if (!isFinite(server)) {
      var header = response.headers.get("Date");
      if (!header) return;
      server = Date.parse(header) + 500; // the header drops the milliseconds
      if (!isFinite(server)) return;
    }
    var offset = Math.round(server - (sentAt + receivedAt) / 2);
    var precise = isFinite(preciseServerMs);
    // A whole-second header does not overrule a close estimate.
    if (!(clock && !precise && Math.abs(clock.offset - offset) <= 1500)) {
      clock = { offset: offset, precise: precise };
      stored(CLOCK_KEY, clock);
    }
    clockLearnedAt = performance.now();
  }

  function serverNow() { return Date.now() + (clock ? clock.offset : 0); }

  function isoAt(ms) { return new Date(ms).toISOString(); }

  // The location's clock in the page's language, 12 or 24 hours as the language writes it there
  // (data-time-locale: the language with the location's country, "en-IE" 14:05, "en-US" 2:05 PM).
  var TIME_LOCALE = root.dataset.timeLocale || document.documentElement.lang || undefined;
  var timeFormat = (function () {
    var options = { hour: root.dataset.hour || "numeric", minute: "2-digit" }; // as the server writes it
    try { return new Intl.DateTimeFormat(TIME_LOCALE, Object.assign({ timeZone: TIMEZONE }, options)); }
    catch (e) { return new Intl.DateTimeFormat(TIME_LOCALE, options); }
  })();
  // "14:05" in the location's time zone, as the server lists synced conversations.
  function localTime(iso) {
    var ms = Date.parse(iso);
    return isFinite(ms) ? timeFormat.format(new Date(ms)) : "";
  }

  // ------------------------------------------------------------------ talking to the server

  var reachable = navigator.onLine;

  function api(url, options) {
    var sentAt = Date.now();
    var init = Object.assign({ credentials: "same-origin", cache: "no-store" }, options || {});
    init.headers = Object.assign({ Accept: "application/json" }, init.headers || {});
    return fetch(url, init).then(function (response) {
      learnClock(response, sentAt);
      setReachable(true);
      if (response.status === 401) signedOut();
      return response;
    }, function (err) {
      setReachable(false);
      throw err;
    });
  }

  function jsonOf(response) { return response.json().catch(function () { return null; }); }

  function pingClock() {
    var sentAt = Date.now();
    return api(CLOCK_URL).then(function (response) {
      return jsonOf(response).then(function (json) {
        if (response.ok && json && json.now) learnClock(response, sentAt, Date.parse(json.now));
      });
    }).catch(function () {});
  }

  function signedOut() {
    var box = document.getElementById("signed-out");
    if (box) box.hidden = false;
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

  // Runs fn(stores) in one transaction; resolves with what fn returned (a request's result, or
  // a plain value) once the transaction has committed.
  function tx(names, mode, fn) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(names, mode);
        var result;
        var stores = {};
        [].concat(names).forEach(function (n) { stores[n] = t.objectStore(n); });
        var out = fn(stores, function (value) { result = value; });
        if (out && typeof out.onsuccess !== "undefined") out.onsuccess = function () { result = out.result; };
        else if (out !== undefined) result = out;
        t.oncomplete = function () { resolve(result); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }
  function request(req, then) { req.onsuccess = function () { then(req.result); }; }

  // Items saved by an older version of this page have no revision or order: give them one.
  function upgrade(item) {
    if (!item) return item;
    if (!(item.revision >= 1)) item.revision = 1;
    if (!isFinite(item.seq)) item.seq = Date.parse(item.savedAt) || 0;
    return item;
  }
  function all(name) {
    return tx(name, "readonly", function (s) { return s[name].getAll(); }).then(function (items) {
      return items.map(upgrade).sort(function (a, b) { return a.seq - b.seq; });
    });
  }
  function getItem(name, id) {
    return tx(name, "readonly", function (s) { return s[name].get(id); }).then(upgrade);
  }
  function removeItem(name, id) { return tx(name, "readwrite", function (s) { s[name].delete(id); }); }

  // Saves a version: the latest one replaces whatever waited under that id (in the outbox or in
  // Needs attention) and gets a revision above both it and the version the form started from.
  // `drop` is the id of a refused item that this version replaces under a new id.
  function saveVersion(item, base, drop) {
    return tx(["outbox", "attention"], "readwrite", function (s, done) {
      if (drop && drop !== item.id) s.attention.delete(drop);
      request(s.outbox.get(item.id), function (waiting) {
        request(s.attention.get(item.id), function (held) {
          var revisions = [base || 0];
          [waiting, held].forEach(function (it) {
            if (it) revisions.push(upgrade(it).revision);
          });
          item.revision = Math.max.apply(null, revisions) + 1;
          var first = waiting || held;
          if (first) item.seq = upgrade(first).seq;
          s.attention.delete(item.id);
          s.outbox.put(item);
          done(item);
        });
      });
    });
  }

  // The server holds `revision` (or newer) of this record: the item leaves the outbox unless
  // it was edited again meanwhile (then the newer version still waits).
  function settle(item, revision) {
    return tx("outbox", "readwrite", function (s) {
      request(s.outbox.get(item.id), function (current) {
        if (current && upgrade(current).revision <= revision) s.outbox.delete(item.id);
      });
    });
  }

  function toAttention(item) {
    return tx(["outbox", "attention"], "readwrite", function (s, done) {
      request(s.outbox.get(item.id), function (current) {
        if (current && upgrade(current).revision > item.revision) return done(false); // edited since
        s.outbox.delete(item.id);
        s.attention.put(item);
        done(true);
      });
    });
  }

  // ------------------------------------------------------------------ status and lists

  var netEl = document.getElementById("net");
  var waitingEl = document.getElementById("waiting");
  var alertEl = document.getElementById("attention-alert");

  function setReachable(value) { reachable = value; renderNet(); }
  function renderNet() {
    var online = navigator.onLine && reachable;
    netEl.textContent = t(online ? "online" : "offline");
    netEl.dataset.state = online ? "online" : "offline";
  }

  // Renders may overlap (a save and a flush); only the latest one paints. Each resolves once
  // the page shows what the stores held when it was called: one overtaken by a later render
  // resolves when that one has painted.
  var renderSeq = 0;
  var latestRender = null;
  function render() {
    var mine = ++renderSeq;
    renderNet();
    latestRender = Promise.all([all("outbox"), all("attention")]).then(function (lists) {
      if (mine !== renderSeq) return latestRender;
      var waiting = lists[0].length;
      var held = lists[1].length;
      waitingEl.dataset.count = String(waiting);
      waitingEl.dataset.attention = String(held);
      waitingEl.textContent = waiting ? t("waiting", { num: waiting })
        : held ? t("held", { num: held }) : t("all_synced");
      renderAlert(held);
      renderAttention(lists[1]);
      renderPending(lists[0]);
    });
    return latestRender;
  }

  function renderAlert(held) {
    if (!alertEl) return;
    alertEl.hidden = held === 0;
    if (!held) return;
    var text = document.getElementById("attention-alert-text");
    text.textContent = t("held_alert", { num: held });
  }

  var audio = null;
  // A new refusal: the banner shows, a tablet beeps, a phone buzzes (where the browser allows).
  function alarm() {
    try { if (navigator.vibrate) navigator.vibrate([200, 100, 200]); } catch (e) { /* not allowed yet */ }
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audio = audio || new Ctx();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.25);
    } catch (e) { /* no sound: the banner and the buzz remain */ }
    if (alertEl) {
      alertEl.classList.remove("flash");
      void alertEl.offsetWidth;
      alertEl.classList.add("flash");
    }
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

  var CLOCK_STALE_MS = 10 * 60 * 1000;
  function sendAll() {
    if (!navigator.onLine) { setReachable(false); return Promise.resolve(); }
    return all("outbox").then(function (items) {
      var stale = clockLearnedAt === null || performance.now() - clockLearnedAt > CLOCK_STALE_MS;
      // Learn the time first (and whether the server is there) when there is nothing to send,
      // or when captures made before the clock was known are about to go.
      var first = stale || !reachable || !items.length ? pingClock() : Promise.resolve();
      return first.then(function () {
        var chain = Promise.resolve(true);
        items.forEach(function (item) {
          chain = chain.then(function (go) { return go && sendOne(item); });
        });
        return chain;
      });
    });
  }

  // When the conversation happened, in server time. A capture made before this device knew the
  // server's clock is corrected with what it knows now; a time the server could not take is
  // left out (the server then stamps when it received it).
  function captureTime(item) {
    var ms = Date.parse(item.body.captured_at);
    if (item.clockKnown === false && clock && isFinite(item.capturedDevice)) ms = item.capturedDevice + clock.offset;
    if (!isFinite(ms) || ms < EARLIEST || ms > LATEST) return null;
    if (clock && ms > serverNow() + 60000) ms = serverNow(); // not in the future
    return isoAt(ms);
  }

  function describe(status, json) {
    if (!json) return t("server_said", { status: String(status) });
    return window.tracker.problem(json, json.error || t("error_status", { status: String(status) }));
  }

  // Refusals a new id fixes: the record cannot be changed, but its content can be kept.
  var SAVE_AS_NEW = { id_conflict: 1, no_longer_editable: 1, not_author: 1 };
  var HINTS = { id_conflict: "hint_new", no_longer_editable: "hint_change", not_author: "hint_new" };

  // Resolves true to go on with the next item, false to stop until the next flush.
  function sendOne(item) {
    if (!navigator.onLine) return Promise.resolve(false);
    var body = Object.assign({}, item.body, { revision: item.revision, captured_at: captureTime(item) });
    return api("/api/conversations/" + encodeURIComponent(item.id), {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return jsonOf(response).then(function (json) {
        if (response.ok) {
          var held = json ? Number(json.revision) : NaN;
          if (held >= item.revision) return settle(item, held).then(function () { return true; });
          return false; // the answer does not hold this version: it stays and goes again later
        }
        if (response.status === 401) return false; // kept; "sign in again" shows
        if (RETRY_LATER[response.status] || response.status >= 500) return false;
        var code = json && json.error;
        if (code === "no_longer_editable") return heldAnyway(item, response, json);
        return refused(item, response, json);
      });
    }, function () {
      return false;
    });
  }

  // A version whose answer was lost, retried after its day ended, is refused as no longer
  // editable although the server holds it: ask, before calling it refused.
  function heldAnyway(item, response, json) {
    return api("/api/conversations/" + encodeURIComponent(item.id)).then(function (r) {
      return jsonOf(r).then(function (rec) {
        var held = r.ok && rec ? Number(rec.revision) : NaN;
        if (held >= item.revision) return settle(item, held).then(function () { return true; });
        return refused(item, response, json);
      });
    }, function () { return false; });
  }

  function refused(item, response, json) {
    var code = json && json.error;
    item.error = describe(response.status, json) + (HINTS[code] ? " " + t(HINTS[code]) : "");
    // Two devices, one conversation: the server's version comes back, and both are shown.
    item.stored = code === "edit_conflict" && json.detail && json.detail.stored ? json.detail.stored : null;
    if (item.stored) item.error = t("hint_conflict");
    item.code = code || null;
    item.status = response.status;
    return toAttention(item).then(function (moved) {
      if (moved) alarm();
      return true;
    });
  }

  window.addEventListener("online", function () { setReachable(true); flush(); recheckBadge(); });
  window.addEventListener("offline", renderNet);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  setInterval(flush, FLUSH_MS);

  // ------------------------------------------------------------------ lists on the page

  function storyLine(item) {
    var s = item.body.story || "";
    if (!s) return [item.body.nps === null || item.body.nps === undefined ? "" : String(item.body.nps)]
      .concat(item.body.topics || []).filter(Boolean).join(" · "); // a quick one: score and topics
    return s.length > 140 ? s.slice(0, 140) + "…" : s;
  }

  function button(label, className, onClick) {
    var b = el("button", className, label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  // A list box on the page ("attention", "pending"): hidden while it has no items, else one
  // <li> per item, made by `itemElement`. Pages without the box paint nothing.
  function listRenderer(id, itemElement) {
    var box = document.getElementById(id);
    var list = document.getElementById(id + "-list");
    return function (items) {
      if (!box) return;
      box.hidden = items.length === 0;
      list.replaceChildren();
      items.forEach(function (item) { list.append(itemElement(item)); });
    };
  }

  var renderAttention = listRenderer("attention", function (item) {
    var li = el("li");
    li.dataset.id = item.id;
    li.append(
      el("p", "meta muted", localTime(captureTime(item) || item.body.captured_at)),
      el("p", "text", storyLine(item)),
      el("p", "error", item.error || t("refused"))
    );
    if (item.stored) {
      var theirs = Number(item.stored.revision) || 0;
      li.append(
        el("p", "text theirs", t("theirs", { story: storyLine({ body: item.stored }) })),
        button(t("keep_mine"), "secondary", function () {
          // Mine again, above the stored version: it replaces theirs on the server.
          var mine = Object.assign({}, item, { stored: null, error: null, code: null });
          saveVersion(mine, theirs).then(function () { render(); flush(); });
        }),
        " ",
        button(t("keep_theirs"), "secondary", function () {
          removeItem("attention", item.id).then(render);
        }),
        " "
      );
    }
    li.append(
      button(t("fix"), "secondary", function () { loadIntoForm(item, "attention"); }),
      " ",
      button(t("discard"), "secondary danger", function () {
        if (window.confirm(t("discard_confirm"))) removeItem("attention", item.id).then(render);
      })
    );
    return li;
  });

  var renderPending = listRenderer("pending", function (item) {
    var li = el("li", "story waiting");
    li.dataset.id = item.id;
    var meta = el("div", "meta");
    var synced = item.edit || document.querySelector("#synced-list li[data-id='" + CSS.escape(item.id) + "']");
    meta.append(
      el("strong", null, t(synced ? "edit_waiting" : "waiting_one")),
      el("span", "time", localTime(captureTime(item) || item.body.captured_at))
    );
    if (item.body.nps !== null && item.body.nps !== undefined) meta.append(el("span", "score", item.body.nps));
    var edit = el("a", "button secondary", t("edit"));
    edit.href = "/staff/capture?edit=" + encodeURIComponent(item.id);
    li.append(meta, el("p", "text", storyLine(item)), edit);
    return li;
  });

  // ------------------------------------------------------------------ the capture form

  var form = document.getElementById("capture");
  var currentId = uuid();
  // {id, from, base (revision it started from), seq, captured_at, capturedDevice, clockKnown, edit, saveAsNew}
  var editing = null;

  function toast(text) {
    var box = document.getElementById("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 2500);
  }

  var errorKind = null;
  function showError(text, kind) {
    var box = document.getElementById("form-error");
    box.textContent = text || "";
    box.hidden = !text;
    errorKind = text ? kind || "other" : null;
  }

  // ------------------------------------------------------------------ badges

  function normaliseBadge(text) {
    return String(text || "").toUpperCase().replace(/[\s\-\u2010-\u2015_.]/g, "");
  }

  // "" when `code` (normalised) has a badge's shape, else what is wrong with it.
  function badgeProblem(code, complete) {
    var wrong = [];
    for (var i = 0; i < code.length; i++) {
      if (BADGE_ALPHABET.indexOf(code[i]) < 0 && wrong.indexOf(code[i]) < 0) wrong.push(code[i]);
    }
    if (wrong.length) {
      return t("badge_chars", { chars: wrong.join(" "), alphabet: BADGE_ALPHABET.split("").join(" ") });
    }
    if (code.length > BADGE_LENGTH || (complete && code.length !== BADGE_LENGTH)) {
      return t("badge_length", { length: BADGE_LENGTH, count: code.length });
    }
    return "";
  }
  function isBadge(code) { return code.length === BADGE_LENGTH && !badgeProblem(code, true); }

  var knownBadges = {}; // code -> true once the server said it exists
  var badgeCheck = null; // {code, state: checking|known|unknown|unchecked, promise}

  function badgeNote(text, state) {
    var note = document.getElementById("badge-note");
    if (!note) return;
    note.textContent = text || "";
    note.dataset.state = state || "";
    note.hidden = !text;
  }

  // Asks the server whether the badge exists at this event; resolves with the check.
  function checkBadge(code) {
    if (knownBadges[code]) {
      badgeCheck = { code: code, state: "known", promise: null };
      badgeNote(t("badge_found", { code: code }), "known");
      return Promise.resolve(badgeCheck);
    }
    if (badgeCheck && badgeCheck.code === code && badgeCheck.state === "checking") return badgeCheck.promise;
    var check = { code: code, state: "checking" };
    badgeCheck = check;
    if (!navigator.onLine) {
      check.state = "unchecked";
      badgeNote(t("badge_offline", { code: code }), "unchecked");
      return Promise.resolve(check);
    }
    badgeNote(t("badge_checking", { code: code }), "checking");
    check.promise = api("/api/badges/" + encodeURIComponent(code)).then(function (response) {
      return jsonOf(response).then(function (json) {
        var error = json && json.error;
        if (response.ok) {
          knownBadges[code] = true;
          check.state = "known";
        } else if (error === "unknown_badge" || error === "not_a_badge") {
          check.state = "unknown";
        } else {
          check.state = "unchecked"; // signed out, busy, or a server without badge checks
        }
      });
    }, function () {
      check.state = "unchecked";
    }).then(function () {
      if (badgeCheck === check) showBadgeState(check);
      return check;
    });
    return check.promise;
  }

  function showBadgeState(check) {
    if (check.state === "known") badgeNote(t("badge_found", { code: check.code }), "known");
    else if (check.state === "unknown") badgeNote(t("badge_unknown", { code: check.code }), "unknown");
    else badgeNote(t("badge_unchecked", { code: check.code }), "unchecked");
  }

  var badgeTimer = null;
  // Typing: the shape is checked at once, the server is asked once the code is complete.
  function onBadgeInput(complete) {
    clearTimeout(badgeTimer);
    var code = normaliseBadge(form.elements.attendee_badge.value);
    if (errorKind === "badge") showError("");
    badgeCheck = null;
    if (!code) { badgeNote(""); return; }
    var problem = badgeProblem(code, complete);
    if (problem) { badgeNote(problem, "invalid"); return; }
    if (code.length < BADGE_LENGTH) { badgeNote(""); return; }
    badgeNote("");
    badgeTimer = setTimeout(function () { checkBadge(code); }, complete ? 0 : 250);
  }

  function recheckBadge() {
    if (!form) return;
    var code = normaliseBadge(form.elements.attendee_badge.value);
    if (code && isBadge(code) && (!badgeCheck || badgeCheck.state !== "known")) {
      badgeCheck = null;
      checkBadge(code);
    }
  }

  // Before a save: resolves with an error text when the badge is known to be wrong, else "".
  function badgeVerdict(code) {
    if (!code) return Promise.resolve("");
    var problem = badgeProblem(code, true);
    if (problem) return Promise.resolve(problem);
    // A badge found stays found; one not found (yet) is asked about again: it may be new.
    var check = badgeCheck && badgeCheck.code === code && badgeCheck.state === "known" ? badgeCheck : null;
    var pending = check ? Promise.resolve(check) : checkBadge(code);
    // A slow network does not hold the save for long: unchecked badges are checked when sent.
    var timeout = new Promise(function (resolve) { setTimeout(function () { resolve(null); }, 2500); });
    return Promise.race([pending, timeout]).then(function (result) {
      if (result && result.state === "unknown") {
        return t("badge_unknown", { code: code });
      }
      return "";
    });
  }

  // ------------------------------------------------------------------ reading and filling the form

  function readForm() {
    var f = form.elements;
    var nps = form.querySelector("input[name=nps]:checked");
    var followUp = f.follow_up.checked;
    var topics = Array.prototype.filter.call(form.querySelectorAll("input[name=topics]"), function (c) { return c.checked; })
      .map(function (c) { return c.value; });
    var badge = normaliseBadge(f.attendee_badge.value);
    return {
      id: editing && !editing.saveAsNew ? editing.id : currentId,
      station: STATION,
      story: f.story.value.trim() || null, // none: only in quick mode (the server holds to it)
      nps: nps ? Number(nps.value) : null,
      topics: topics,
      public: f.public.checked,
      follow_up: followUp,
      contact: followUp ? f.contact.value.trim() || null : null,
      owner: followUp ? f.owner.value.trim() || null : null,
      attendee_badge: badge || null,
      captured_at: editing && editing.captured_at ? editing.captured_at : isoAt(serverNow()),
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
    onBadgeInput(true);
  }

  function resetForm() {
    var owner = form.elements.owner.defaultValue;
    form.reset();
    form.elements.owner.value = owner;
    syncFollowUp();
    editing = null;
    currentId = uuid();
    badgeCheck = null;
    badgeNote("");
    document.getElementById("editing").hidden = true;
    if (location.search) history.replaceState(null, "", location.pathname);
  }

  function syncFollowUp() {
    document.getElementById("follow-up-fields").hidden = !form.elements.follow_up.checked;
  }

  function loadIntoForm(item, from) {
    var saveAsNew = from === "attention" && !!SAVE_AS_NEW[item.code];
    editing = {
      id: item.id,
      from: from,
      base: saveAsNew ? 0 : Math.max(item.revision || 0, item.stored ? Number(item.stored.revision) || 0 : 0),
      seq: item.seq,
      captured_at: item.body.captured_at,
      capturedDevice: item.capturedDevice,
      clockKnown: item.clockKnown,
      edit: !!item.edit,
      saveAsNew: saveAsNew,
    };
    fillForm(item.body);
    document.getElementById("editing-ref").textContent = item.reference || t("not_yet_synced");
    document.getElementById("editing").hidden = false;
    showError(item.error || "", "attention");
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
        return api("/api/conversations/" + encodeURIComponent(id))
          .then(function (r) { return jsonOf(r).then(function (j) { return { ok: r.ok, status: r.status, json: j }; }); })
          .then(function (res) {
            if (!res.ok) { showError(describe(res.status, res.json)); return; }
            if (!res.json.editable) { showError(t("not_editable")); return; }
            var rec = res.json;
            loadIntoForm({
              id: rec.id,
              revision: Number(rec.revision) || 1,
              reference: rec.reference,
              edit: true,
              body: rec,
            }, "server");
          }, function () { showError(t("edit_offline")); });
      });
    });
  }

  var saving = false;
  var lastSaved = 0; // when the last save ended (ms), for quick mode's double-tap guard
  var DOUBLE_TAP_MS = 800;
  function save(ev) {
    ev.preventDefault();
    if (saving) return; // a double tap while the first save is running makes one record
    var body = readForm();
    if (!body.story && !QUICK) { showError(t("story_needed"), "story"); form.elements.story.focus(); return; }
    if (!body.story && body.nps === null && !body.topics.length) { showError(t("quick_needed"), "story"); return; }
    saving = true;
    var saveButton = document.getElementById("save");
    saveButton.disabled = true;
    var wasEditing = editing;
    badgeVerdict(body.attendee_badge || "").then(function (problem) {
      if (problem) {
        showError(problem, "badge");
        form.elements.attendee_badge.focus();
        return;
      }
      showError("");
      var fresh = !wasEditing || wasEditing.saveAsNew;
      var item = {
        id: body.id,
        body: body,
        savedAt: isoAt(serverNow()),
        seq: !fresh && wasEditing.seq ? wasEditing.seq : nextSeq(),
        capturedDevice: wasEditing && wasEditing.captured_at ? wasEditing.capturedDevice : Date.now(),
        clockKnown: wasEditing && wasEditing.captured_at ? wasEditing.clockKnown !== false : !!clock,
        edit: !!(wasEditing && wasEditing.edit && !wasEditing.saveAsNew),
      };
      var drop = wasEditing && wasEditing.saveAsNew ? wasEditing.id : null;
      return saveVersion(item, fresh ? 0 : wasEditing.base, drop).then(function () {
        // The counter, the emptied form and the toast change together: a form emptied before
        // the counter includes the new record would show "All synced" beside a saved record
        // that waits (and a test that takes the empty form for "saved" would believe it).
        var saved = function () {
          resetForm();
          toast(t(fresh && !wasEditing ? "saved" : "saved_changes"));
          form.elements.attendee_badge.focus({ preventScroll: true });
          window.scrollTo(0, 0);
        };
        return render().then(saved, saved); // saved even if the counter could not be read
      }, function (err) {
        showError(t("save_failed", { error: String(err) }));
      });
    }).then(function () {
      saving = false;
      lastSaved = Date.now();
      saveButton.disabled = false;
      flush();
    });
  }

  // ------------------------------------------------------------------ badge scanning

  var scan = null; // {controls, stopped} while the camera runs (or starts)
  function loadScanner(src) {
    if (window.ZXingBrowser) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = function () { reject(new Error(t("scanner_missing"))); };
      document.head.append(s);
    });
  }

  function stopScan() {
    if (scan) {
      scan.stopped = true;
      if (scan.controls) scan.controls.stop();
      release(scan);
    }
    scan = null;
    document.getElementById("scanner").hidden = true;
  }

  // The camera of one scan, turned off.
  function release(current) {
    var video = document.getElementById("scanner-video");
    if (!current.stream) return;
    current.stream.getTracks().forEach(function (track) { track.stop(); });
    if (video.srcObject === current.stream) video.srcObject = null;
    current.stream = null;
  }

  // Resolves once the video shows the camera's frames. The scanner's own start
  // (decodeFromVideoDevice) waits for a "canplay" event after a failed play(); on a busy device
  // that event had already passed, and the scanner never started (a test saw "Starting the
  // camera…" for 15 s). Looking at the video's state every 100 ms cannot miss it.
  function playing(video) {
    return new Promise(function (resolve, reject) {
      var poll, deadline;
      function check() {
        if (video.readyState > 2 && video.currentTime > 0 && !video.paused) {
          clearInterval(poll);
          clearTimeout(deadline);
          resolve(video);
        } else if (video.paused) {
          video.play().catch(function () {}); // tried again at the next look
        }
      }
      poll = setInterval(check, 100);
      deadline = setTimeout(function () {
        clearInterval(poll);
        reject(new Error("no picture from the camera"));
      }, 20000);
      check();
    });
  }

  function shorten(text) {
    text = String(text).replace(/\s+/g, " ").trim();
    return text.length > 60 ? text.slice(0, 60) + "…" : text;
  }

  // {badge} when the QR code holds a tracker badge code, else {problem} saying what it read.
  function readScan(text) {
    var raw = String(text || "").trim();
    var code = normaliseBadge(raw);
    if (isBadge(code)) return { badge: code };
    var problem;
    try {
      var url = new URL(raw);
      if (/^\/s\/[^/]+\/?$/.test(url.pathname) || /^\/j\/[^/]+\/?$/.test(url.pathname)) {
        problem = t("scan_station", { address: shorten(url.host + url.pathname.replace(/^(\/[sj]\/).*/, "$1…")) });
      } else {
        problem = t("scan_address", { address: shorten(url.host + url.pathname) });
      }
    } catch (e) {
      if (/^WIFI:/i.test(raw)) problem = t("scan_wifi");
      else if (!raw) problem = t("scan_empty");
      else problem = t("scan_text", { text: shorten(raw) });
    }
    return { problem: problem };
  }

  function startScan() {
    var note = document.getElementById("scanner-note");
    document.getElementById("scanner").hidden = false;
    if (scan) return; // already running
    note.dataset.state = "";
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      note.textContent = t("no_camera");
      return;
    }
    var current = scan = { controls: null, stopped: false, stream: null };
    note.textContent = t("camera_starting");
    loadScanner(root.dataset.scanner).then(function () {
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    }).then(function (stream) {
      current.stream = stream;
      if (current.stopped) throw new Error("stopped");
      var video = document.getElementById("scanner-video");
      video.srcObject = stream;
      return playing(video);
    }).then(function (video) {
      var reader = new window.ZXingBrowser.BrowserQRCodeReader();
      return reader.decodeFromVideoElement(video, function (result, err, controls) {
        if (!result || current.stopped) return;
        var read = readScan(result.getText());
        if (read.problem) { // keep scanning: the right code may come next
          note.textContent = read.problem;
          note.dataset.state = "refused";
          return;
        }
        controls.stop();
        stopScan();
        form.elements.attendee_badge.value = read.badge;
        onBadgeInput(true);
        toast(t("badge_scanned", { code: read.badge }));
      });
    }).then(function (controls) {
      if (current.stopped) { controls.stop(); release(current); return; } // stopped while starting
      current.controls = controls;
      if (note.dataset.state !== "refused") note.textContent = t("point_camera");
    }, function (err) {
      release(current);
      if (scan === current) scan = null;
      if (current.stopped) return;
      note.textContent = t("camera_failed", { error: String(err && err.message ? err.message : err) });
    });
  }

  // ------------------------------------------------------------------ wiring

  if (form) {
    form.addEventListener("submit", save);
    form.elements.follow_up.addEventListener("change", syncFollowUp);
    form.elements.story.addEventListener("input", function () {
      if (errorKind === "story" && form.elements.story.value.trim()) showError("");
    });
    form.elements.attendee_badge.addEventListener("input", function () { onBadgeInput(false); });
    form.elements.attendee_badge.addEventListener("change", function () {
      var input = form.elements.attendee_badge;
      var code = normaliseBadge(input.value);
      if (code !== input.value && !badgeProblem(code, true)) input.value = code; // as printed
      onBadgeInput(true);
    });
    // Tapping the chosen score again clears it (a score is optional).
    form.querySelectorAll("input[name=nps]").forEach(function (radio) {
      radio.addEventListener("pointerdown", function () { radio.dataset.was = radio.checked ? "1" : ""; });
      radio.addEventListener("click", function () {
        if (radio.dataset.was === "1") radio.checked = false;
        radio.dataset.was = "";
      });
    });
    // Quick mode: ticking a topic saves the conversation at once (while editing, chips only toggle).
    if (QUICK) {
      form.querySelectorAll("input[name=topics]").forEach(function (chip) {
        chip.addEventListener("change", function () {
          if (!chip.checked || editing || saving) return;
          // The second tap of a double tap lands on the fresh form: it must not save a topic alone.
          var untouched = !form.querySelector("input[name=nps]:checked") && !form.elements.attendee_badge.value
            && !form.elements.story.value.trim();
          if (untouched && Date.now() - lastSaved < DOUBLE_TAP_MS) { chip.checked = false; return; }
          if (form.requestSubmit) form.requestSubmit(document.getElementById("save"));
          else save({ preventDefault: function () {} });
        });
      });
    }
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
      if (n && !window.confirm(t("signout_confirm", { num: n }))) ev.preventDefault();
    });
  }

  // The worker's scope is "/staff" (the server allows it), so the printed URL /staff, /staff/
  // and every page under /staff/ open offline; registrations of older pages (scope "/staff/")
  // are removed.
  if ("serviceWorker" in navigator && root.dataset.sw) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: "/staff" }).then(function () {
      return navigator.serviceWorker.getRegistrations();
    }).then(function (registrations) {
      registrations.forEach(function (r) {
        if (new URL(r.scope).pathname === "/staff/") r.unregister();
      });
    }).catch(function () {});
  }
  render().then(flush);
})();
