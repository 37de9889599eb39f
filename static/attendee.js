// The station page: posts the check-in (so link previews never count one), fills in the passport,
// and sends the attendee's own story. User text is only ever set with textContent.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const root = $("checkin");
  const form = $("checkin-form");
  if (!root) return;
  const code = root.dataset.code;
  const fmt = (n) => Number(n).toLocaleString("en");

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16)); // plain-HTTP pages have no randomUUID
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

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

  // The same body (and so the same id) is sent again on a network error or a 5xx: the server
  // stores it once. 4xx answers are final and shown as they are.
  async function send(url, body) {
    let last;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 600 * 2 ** attempt));
      try {
        const r = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          credentials: "same-origin",
          body: JSON.stringify(body),
        });
        const data = await r.json().catch(() => ({}));
        if (r.status < 500) return { status: r.status, data };
        last = data.detail || "the server had a problem";
      } catch (e) {
        last = "no connection";
      }
    }
    return { status: 0, data: { detail: `Could not reach us (${last}). Please try again.` } };
  }

  function problem(data) {
    const d = data && data.detail;
    if (Array.isArray(d)) return d.map((p) => `${p.field}: ${p.problem}`).join("; ");
    return d || "Something went wrong. Please try again.";
  }

  function show(data) {
    const c = data.checkin;
    const place = `${c.station.name}, ${c.station.location}`;
    $("status").textContent = c.counted
      ? `You're checked in at ${place}`
      : `You've already visited ${place}`;
    $("lead").textContent = c.counted
      ? "Thanks for stopping by: you just moved the team closer to its goal."
      : "Welcome back! Each station counts once, and your passport already has this one.";
    const p = data.progress;
    $("total").textContent = fmt(p.total);
    $("goal").textContent = fmt(p.goal);
    $("bar").max = p.goal;
    $("bar").value = Math.min(p.total, p.goal);
    const pass = data.passport;
    $("badge").textContent = pass.badge;
    $("visited").textContent = `${pass.visited} station${pass.visited === 1 ? "" : "s"} visited`;
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
    $("story").hidden = false;
    $("more").hidden = false;
  }

  async function checkIn() {
    const button = form.querySelector("button");
    button.disabled = true;
    $("lead").textContent = "Checking you in…";
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
  const followUp = $("follow-up");
  followUp.addEventListener("change", () => {
    $("contact-box").hidden = !followUp.checked;
  });
  let storyId = null;
  storyForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = storyForm.elements;
    const out = $("story-status");
    const story = f.story.value.trim();
    if (!story) {
      out.textContent = "Please write a few words first.";
      f.story.focus();
      return;
    }
    if (followUp.checked && !f.contact.value.trim()) {
      out.textContent = "Tell us how to reach you, or untick “get back to me”.";
      f.contact.focus();
      return;
    }
    const checked = storyForm.querySelector("input[name=nps]:checked");
    storyId = storyId || store.get(storyKey) || uuid(); // kept across retries and reloads
    store.set(storyKey, storyId);
    const body = {
      id: storyId,
      station: code,
      story,
      nps: checked ? Number(checked.value) : null,
      follow_up: followUp.checked,
      public: f.public.checked,
    };
    if (followUp.checked) body.contact = f.contact.value.trim();
    const button = storyForm.querySelector("button");
    button.disabled = true;
    out.textContent = "";
    const { status, data } = await send("/api/conversations", body);
    button.disabled = false;
    if (answered(status)) {
      store.set(storyKey, null);
      if (status >= 400) storyId = null; // refused: nothing of ours is stored under it
    }
    if (status === 200 || status === 201) {
      $("reference").textContent = data.reference;
      $("story").hidden = true;
      $("thanks").hidden = false;
      $("thanks").focus();
    } else {
      out.textContent = problem(data);
    }
  });
})();
