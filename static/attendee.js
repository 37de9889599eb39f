// The station page: posts the check-in (so link previews never count one), fills in the passport,
// and sends the attendee's own story through an outbox (which /me empties too). User text is only
// ever set with textContent.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const root = $("checkin");
  const form = $("checkin-form");
  const code = root && root.dataset.code;
  const { uuid, t, number: fmt } = window.tracker; // static/common.js: ids, words, numbers

  // An id stays on the phone until its answer comes, so that a reload after a lost answer sends
  // it again (stored once) instead of a new one (a second identity, a second count). Without
  // storage (private mode may throw) the page's own id is used, as before.
  const store = {
    get(key) {
      try {
        return localStorage.getItem(key);
      } catch (e) {
        return null;
      }
    },
    set(key, value) {
      try {
        if (value) localStorage.setItem(key, value);
        else localStorage.removeItem(key);
      } catch (e) {
        /* no storage: nothing to keep */
      }
    },
  };
  // Any 2xx, or a 4xx other than 429 (nothing stored, or not ours): the id is no longer pending.
  const answered = (status) => status >= 200 && status < 500 && status !== 429;
  const checkinKey = `tracker.checkin.${code}`;
  const storyKey = `tracker.story.${code}`;
  const post = (url, body, method = "POST") =>
    fetch(url, {
      method,
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      body: JSON.stringify(body),
      signal: window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(20000) : null,
    });

  // The same body (and so the same id) is sent again on a network error or a 5xx: the server
  // stores it once. 4xx answers are final and shown as they are.
  async function send(url, body) {
    let last;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 600 * 2 ** attempt));
      try {
        const r = await post(url, body);
        const data = await r.json().catch(() => ({}));
        if (r.status < 500) return { status: r.status, data };
        last = data.detail || t("server_problem");
      } catch (e) {
        last = t("no_connection");
      }
    }
    return { status: 0, data: { detail: t("unreachable", { reason: last }) } };
  }

  const problem = (data) => window.tracker.problem(data);

  // ---- The story outbox: a story waits in IndexedDB under its id from the tap on Send until the
  // server answered, and every retry (online again, a later page load, the timer) sends that id:
  // it is stored once. Network errors, 401/408/429 and 5xx keep it; other 4xx are final.
  // Without IndexedDB the story is sent as before (a few retries, then an error to try again).
  let idb = null;
  try {
    idb = new Promise((resolve, reject) => {
      const open = indexedDB.open("tracker-attendee", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("outbox", { keyPath: "id" });
      open.onsuccess = () => resolve(open.result);
      open.onerror = open.onblocked = () => reject(open.error);
    });
    idb.catch(() => {});
  } catch (e) {
    /* no IndexedDB */
  }
  const tx = (fn) =>
    idb.then(
      (db) =>
        new Promise((resolve, reject) => {
          const t = db.transaction("outbox", "readwrite");
          const req = fn(t.objectStore("outbox"));
          t.oncomplete = () => resolve(req.result);
          t.onerror = t.onabort = () => reject(t.error);
        }),
    );
  const queued = () => (idb ? tx((s) => s.getAll()) : Promise.resolve([]));
  // An item leaves only if no newer version of it was saved while it was on its way.
  const drop = (item) =>
    tx((s) => {
      const req = s.get(item.id);
      req.onsuccess = () => req.result && req.result.rev === item.rev && s.delete(item.id);
      return req;
    });

  const SAVED = t("saved_offline");
  let storyId = null; // the story in this station page's form, from the tap on Send
  let rev = 0;
  const mine = (item) => item.id === storyId;
  const excerpt = ({ body: { story: s } }) => (s.length > 60 ? `${s.slice(0, 60)}…` : s);

  async function sendOne(item) {
    let r;
    let data;
    try {
      // PUT creates it (201) or answers with what is stored (200); an older revision never wins.
      r = await post(`/api/conversations/${item.id}`, { ...item.body, revision: item.rev }, "PUT");
      data = await r.json().catch(() => ({}));
    } catch (e) {
      return mine(item) && say(SAVED, true);
    }
    if (r.status >= 500 || [401, 408, 429].includes(r.status)) {
      return mine(item) && say(t("saved_retry"), true);
    }
    await drop(item);
    if (mine(item)) {
      if (r.ok) return thanks(data);
      storyId = null; // refused: nothing of ours is stored under it; the text stays to be fixed
      return say(problem(data));
    }
    // Another station's story, or one sent from /me.
    const el = $("sent-note");
    el.textContent = r.ok
      ? t("story_arrived", { excerpt: excerpt(item), reference: data.reference })
      : t("story_failed", { excerpt: excerpt(item), problem: problem(data) });
    el.className = r.ok ? "ok" : "error";
    el.hidden = false;
  }

  let flushing = false;
  let again = false;
  async function flush() {
    if (flushing) return (again = true);
    flushing = true;
    try {
      for (const item of await queued()) await sendOne(item);
    } catch (e) {
      /* IndexedDB failed: the next flush tries again */
    }
    flushing = false;
    if (again) {
      again = false;
      flush();
    }
  }
  const start = () => {
    window.addEventListener("online", flush);
    document.addEventListener("visibilitychange", () => document.hidden || flush());
    setInterval(flush, 15000);
    flush();
  };

  if (!root) return start(); // /me: only the outbox

  function show(data) {
    const c = data.checkin;
    const place = { station: c.station.name, location: c.station.location };
    $("status").textContent = t(c.counted ? "checked_in" : "already_visited", place);
    $("lead").textContent = t(c.counted ? "thanks_counted" : "welcome_back");
    const p = data.progress;
    $("total").textContent = fmt(p.total);
    $("goal").textContent = fmt(p.goal);
    $("bar").max = p.goal;
    $("bar").value = Math.min(p.total, p.goal);
    const pass = data.passport;
    $("badge").textContent = pass.badge;
    $("visited").textContent = t("visited", { num: pass.visited });
    const list = $("stamps");
    list.replaceChildren(
      ...pass.stations.map((s) => {
        const li = document.createElement("li");
        const where = document.createElement("span");
        where.className = "muted";
        where.textContent = s.location;
        li.append(`${s.name} `, where);
        return li;
      }),
    );
    $("result").hidden = false;
    $("story").hidden = !$("thanks").hidden;
    $("more").hidden = false;
  }

  async function checkIn() {
    const button = form.querySelector("button");
    button.disabled = true;
    $("lead").textContent = t("checking_in");
    const id = form.elements.id.value;
    store.set(checkinKey, id);
    const { status, data } = await send("/api/checkins", { station: code, id });
    if (answered(status)) store.set(checkinKey, null);
    if (status === 200 || status === 201) {
      form.remove();
      show(data);
      $("status").focus();
    } else if (answered(status) && id !== fresh) {
      form.elements.id.value = fresh; // a stale kept id was refused: check in with the page's own
      checkIn();
    } else {
      $("lead").textContent = problem(data);
      button.disabled = false;
    }
  }

  const fresh = form && form.elements.id.value;
  if (form) {
    form.elements.id.value = store.get(checkinKey) || fresh;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      checkIn();
    });
    // Wait until the page is really in front of someone: prerendered or background pages don't count.
    const go = () => {
      if (document.visibilityState === "visible" && !document.prerendering) {
        document.removeEventListener("visibilitychange", go);
        checkIn();
      }
    };
    document.addEventListener("visibilitychange", go);
    go();
  } else if (root.dataset.state === "done") {
    $("story").hidden = false;
  }

  const storyForm = $("story-form");
  const f = storyForm.elements;
  const followUp = $("follow-up");
  followUp.addEventListener("change", () => {
    $("contact-box").hidden = !followUp.checked;
  });
  function say(text, ok, busy) {
    $("story-status").textContent = text;
    $("story-status").className = ok ? "note" : "error";
    $("story-send").disabled = !!busy;
  }
  function thanks(data) {
    $("reference").textContent = data.reference;
    $("story").hidden = true;
    $("thanks").hidden = false;
    $("thanks").focus();
  }

  // A story of this station still waiting from an earlier visit comes back into the form.
  queued()
    .then((items) => {
      const item = items.find((i) => i.body.station === code);
      if (!item || storyId) return;
      const b = item.body;
      ({ id: storyId, rev } = item);
      f.story.value = b.story;
      const nps = storyForm.querySelector(`input[name=nps][value="${b.nps}"]`);
      if (nps) nps.checked = true;
      followUp.checked = b.follow_up;
      $("contact-box").hidden = !b.follow_up;
      f.contact.value = b.contact || "";
      f.public.checked = b.public;
      say(SAVED, true);
      $("story").hidden = !$("thanks").hidden;
    })
    .catch(() => {})
    .then(start);

  async function legacy(body) {
    store.set(storyKey, body.id);
    const { status, data } = await send("/api/conversations", body);
    if (answered(status)) {
      store.set(storyKey, null);
      if (status >= 400) storyId = null;
    }
    if (status === 200 || status === 201) thanks(data);
    else say(problem(data));
  }

  storyForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const story = f.story.value.trim();
    if (!story) {
      say(t("write_first"));
      f.story.focus();
      return;
    }
    if (followUp.checked && !f.contact.value.trim()) {
      say(t("contact_needed"));
      f.contact.focus();
      return;
    }
    const checked = storyForm.querySelector("input[name=nps]:checked");
    storyId = storyId || store.get(storyKey) || uuid(); // kept across retries and reloads
    const body = {
      id: storyId,
      station: code,
      story,
      nps: checked ? Number(checked.value) : null,
      follow_up: followUp.checked,
      public: f.public.checked,
    };
    if (followUp.checked) body.contact = f.contact.value.trim();
    say(t("sending"), true, true);
    const item = { id: storyId, rev: ++rev, body };
    (idb ? tx((s) => s.put(item)) : Promise.reject()).then(flush, () => legacy(body));
  });
})();
