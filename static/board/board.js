/* The big screen. It starts from the snapshot in the page, then follows /live over a websocket.
   Everything on screen can be rebuilt from one snapshot, so a reconnect simply starts over.
   User text (stories, names) only ever goes in through textContent. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var options = JSON.parse($("options").textContent);
  var snap = JSON.parse($("snapshot").textContent);
  var current = options.location || null; // the location this screen shows; null = whole event
  var numbers = new Intl.NumberFormat("en");
  var MAX_ROWS = 8; // bars and leaderboard rows that fit the wall layout
  var OFFLINE_AFTER_MS = 30000;
  var board = $("board");
  var chart = null;
  var stories = [];
  var storyAt = 0;
  var lastTotal = null;
  var disconnectedSince = null;
  var timeFormats = {};

  var el = window.tracker.el; // static/common.js

  function clock(timeZone, withSeconds) {
    var key = timeZone + (withSeconds ? ":s" : "");
    if (!timeFormats[key]) {
      var opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
      if (withSeconds) opts.second = "2-digit";
      try { opts.timeZone = timeZone; timeFormats[key] = new Intl.DateTimeFormat("en-GB", opts); }
      catch (e) { delete opts.timeZone; timeFormats[key] = new Intl.DateTimeFormat("en-GB", opts); }
    }
    return timeFormats[key];
  }

  function scopeZone(s) { return (s.location && s.location.timezone) || s.event.timezone; }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // ---- rendering -------------------------------------------------------------------------

  function render(s) {
    snap = s;
    var here = s.location;
    board.dataset.mode = here ? "location" : "event";
    $("event-name").textContent = s.event.name;
    $("location-name").textContent = here ? here.name : "";
    document.title = s.event.name + (here ? " · " + here.name : "") + " · live board";
    $("location-figure").hidden = !here;
    var closed = !!(here && here.active === false);
    $("closed-note").hidden = !closed;
    if (closed) $("closed-note").textContent = here.name + " is closed";
    if (here) {
      $("location-total").textContent = numbers.format(here.total);
      $("location-caption").textContent = here.name;
    }
    $("total").textContent = numbers.format(s.total);
    $("goal").textContent = numbers.format(s.event.goal);
    $("scope-caption").textContent = "meaningful engagements" + (here ? " across all locations" : "");
    var percent = Math.floor((100 * s.total) / s.event.goal);
    $("percent").textContent = percent + "%";
    $("goal-state").textContent = s.goal_reached ? "Goal reached!" : "of the goal";
    board.classList.toggle("reached", !!s.goal_reached);
    $("fill").style.width = Math.min(100, (100 * s.total) / s.event.goal) + "%";
    var bar = $("progress");
    bar.setAttribute("aria-valuenow", s.total);
    bar.setAttribute("aria-valuemax", s.event.goal);
    renderMarks(s.milestone_marks);
    renderLocations(s.locations, here ? here.slug : null);
    renderNps(here ? here.nps : s.nps, here);
    renderLeaders(here ? here.stations : s.leaderboard, !here);
    renderChart(s.hours, scopeZone(s));
    stories = s.recent.slice(0, 10);
    if (storyAt >= stories.length) storyAt = 0;
    showStory(false);
    if (lastTotal !== null && s.total !== lastTotal) {
      board.classList.remove("bump");
      void board.offsetWidth; // restart the animation
      board.classList.add("bump");
    }
    lastTotal = s.total;
    $("updated").textContent = "Updated " + clock(scopeZone(s), true).format(new Date());
  }

  function renderMarks(marks) {
    var list = $("marks");
    var items = marks.map(function (m) {
      var li = el("li", "mark" + (m.reached ? " reached" : ""));
      li.style.left = m.percent + "%";
      li.dataset.value = m.value;
      li.appendChild(el("span", null, m.percent + "%"));
      return li;
    });
    list.replaceChildren.apply(list, items);
  }

  function renderLocations(locations, hereSlug) {
    var list = $("locations");
    var top = locations.reduce(function (m, l) { return Math.max(m, l.total); }, 0) || 1;
    var shown = locations.slice(0, MAX_ROWS);
    if (hereSlug && !shown.some(function (l) { return l.slug === hereSlug; })) {
      var mine = locations.filter(function (l) { return l.slug === hereSlug; });
      shown = shown.slice(0, MAX_ROWS - 1).concat(mine);
    }
    var now = new Date();
    var items = shown.map(function (l) {
      var li = el("li", l.slug === hereSlug ? "here" : "");
      li.dataset.slug = l.slug;
      var track = el("span", "track");
      var fill = el("span");
      fill.style.width = (100 * l.total) / top + "%";
      track.appendChild(fill);
      li.appendChild(track); // first, so the text paints over it
      li.appendChild(el("span", "cc", l.country));
      var name = el("span", "name", l.name);
      var time = el("small", "local-time", clock(l.timezone, false).format(now));
      time.dataset.tz = l.timezone;
      name.appendChild(time);
      li.appendChild(name);
      li.appendChild(el("span", "count", numbers.format(l.total)));
      return li;
    });
    list.replaceChildren.apply(list, items);
    fit(list, locations.length, "locations");
  }

  // Drop the rows that do not fit the panel (the wall layout never scrolls) and say how many.
  function fit(list, total, what) {
    var more = null;
    for (var guard = 0; guard < 40 && list.scrollHeight > list.clientHeight + 1; guard++) {
      var rows = list.querySelectorAll("li:not(.more-row):not(.here)");
      if (rows.length <= 1) break;
      rows[rows.length - 1].remove();
      if (!more) { more = el("li", "more-row"); list.appendChild(more); }
      more.textContent = "+ " + (total - list.querySelectorAll("li:not(.more-row)").length) + " more " + what;
    }
    if (!more && total > list.querySelectorAll("li:not(.more-row)").length) {
      list.appendChild(el("li", "more-row", "+ " + (total - list.children.length) + " more " + what));
    }
  }

  function renderNps(nps, here) {
    $("nps-scope").textContent = here ? "· " + here.name : "";
    var score = $("nps-score");
    score.textContent = nps.score === null ? "No scores yet" : (nps.score > 0 ? "+" : "") + nps.score;
    score.className = "nps-score " + (nps.score === null ? "none" : nps.score >= 30 ? "good" : nps.score >= 0 ? "mid" : "bad");
    $("nps-p").textContent = numbers.format(nps.promoters);
    $("nps-n").textContent = numbers.format(nps.passives);
    $("nps-d").textContent = numbers.format(nps.detractors);
    var n = nps.responses || 1;
    $("nps-bar-p").style.width = (100 * nps.promoters) / n + "%";
    $("nps-bar-n").style.width = (100 * nps.passives) / n + "%";
    $("nps-bar-d").style.width = (100 * nps.detractors) / n + "%";
  }

  function renderLeaders(stations, withLocation) {
    var list = $("leaders");
    var items = stations.slice(0, MAX_ROWS).map(function (st) {
      var li = el("li");
      var name = el("span", "name", st.name);
      if (withLocation && st.location) name.appendChild(el("small", null, st.location));
      li.appendChild(name);
      li.appendChild(el("span", "count", numbers.format(st.total)));
      return li;
    });
    list.replaceChildren.apply(list, items);
    var all = withLocation
      ? snap.locations.reduce(function (n, l) { return n + l.stations.length; }, 0)
      : stations.length;
    fit(list, all, "stations");
  }

  function renderChart(hours, timeZone) {
    if (typeof Chart === "undefined") return;
    var labels = hours.map(function (h) { return clock(timeZone, false).format(new Date(h.hour)); });
    var counts = snap.event.counts;
    var series = [
      { key: "checkins", label: "Check-ins", color: cssVar("--accent") },
      { key: "conversations", label: "Conversations", color: cssVar("--accent-2") },
    ].filter(function (d) { return counts.indexOf(d.key) >= 0; });
    var datasets = series.map(function (d) {
      return { label: d.label, backgroundColor: d.color, borderRadius: 4,
               data: hours.map(function (h) { return h[d.key]; }) };
    });
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets.forEach(function (ds, i) { ds.data = datasets[i] ? datasets[i].data : []; });
      chart.update("none");
      return;
    }
    var fg = cssVar("--muted");
    Chart.defaults.font.size = fontSize();
    Chart.defaults.color = fg;
    chart = new Chart($("chart"), {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { position: "top", align: "end", labels: { boxWidth: fontSize(), color: fg } },
                   tooltip: { enabled: false } },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { color: fg, maxRotation: 0, autoSkipPadding: 12 } },
          y: { stacked: true, beginAtZero: true, grid: { color: cssVar("--line") },
               ticks: { color: fg, precision: 0, maxTicksLimit: 5 } },
        },
      },
    });
  }

  function fontSize() { return Math.max(12, Math.round(window.innerHeight * 0.021)); }

  window.addEventListener("resize", function () {
    if (!chart) return;
    Chart.defaults.font.size = fontSize();
    chart.options.plugins.legend.labels.boxWidth = fontSize();
    chart.update("none");
  });

  // ---- the ticker of stories -------------------------------------------------------------

  function showStory(advance) {
    var p = $("story");
    if (!stories.length) {
      p.classList.add("empty");
      $("story-text").textContent = "";
      $("story-by").textContent = "Stories people agree to share appear here.";
      return;
    }
    p.classList.remove("empty");
    if (advance) storyAt = (storyAt + 1) % stories.length;
    var story = stories[storyAt];
    $("story-text").textContent = story.story;
    $("story-by").textContent = story.station + (snap.location ? "" : ", " + story.location);
  }

  setInterval(function () {
    if (stories.length < 2) return;
    var p = $("story");
    p.classList.add("fade");
    setTimeout(function () { showStory(true); p.classList.remove("fade"); }, 600);
  }, 9000);

  // ---- milestones: a celebration once per milestone per screen ---------------------------

  var memory = {};
  function seenKey(s) { return "tracker-board:" + s.event.slug + ":celebrated"; }
  function loadSeen(s) {
    try { var raw = localStorage.getItem(seenKey(s)); return raw === null ? null : JSON.parse(raw); }
    catch (e) { return memory[seenKey(s)] || null; }
  }
  function saveSeen(s, seen) {
    seen = seen.slice(-20);
    memory[seenKey(s)] = seen;
    try { localStorage.setItem(seenKey(s), JSON.stringify(seen)); } catch (e) { /* memory only */ }
  }

  function checkMilestones(s) {
    var seen = loadSeen(s);
    if (seen === null) {
      // A screen switched on mid-event does not replay what happened before it was watching.
      saveSeen(s, s.milestones);
      return;
    }
    var fresh = s.milestone_marks.filter(function (m) { return m.reached && seen.indexOf(m.value) < 0; });
    if (!fresh.length) return;
    saveSeen(s, seen.concat(fresh.map(function (m) { return m.value; })));
    celebrate(fresh[fresh.length - 1]);
  }

  var celebrationTimer = null;
  function celebrate(mark) {
    var layer = $("celebrate");
    $("celebrate-big").textContent = mark.percent >= 100 ? "Goal reached!" : mark.percent + "%";
    $("celebrate-small").textContent = mark.percent >= 100
      ? numbers.format(mark.value) + " meaningful engagements. Thank you, everyone!"
      : numbers.format(mark.value) + " meaningful engagements. " +
        (mark.percent === 25 ? "A quarter of the way!" : mark.percent === 50 ? "Halfway there!" : "Three quarters done!");
    layer.dataset.percent = mark.percent;
    confetti();
    layer.hidden = false;
    clearTimeout(celebrationTimer);
    celebrationTimer = setTimeout(function () { layer.hidden = true; }, 10000);
  }

  function confetti() {
    var box = $("confetti");
    if (box.childElementCount) return; // made once, reused
    var colors = ["--accent", "--accent-2", "--gold", "--good", "--bad"].map(cssVar);
    for (var i = 0; i < 48; i++) {
      var bit = el("i");
      bit.style.left = Math.random() * 100 + "%";
      bit.style.background = colors[i % colors.length];
      bit.style.animationDuration = 2.5 + Math.random() * 3 + "s";
      bit.style.animationDelay = -Math.random() * 5 + "s";
      box.appendChild(bit);
    }
  }

  // ---- connection --------------------------------------------------------------------------

  function setConn(state, text) {
    var c = $("conn");
    c.dataset.state = state;
    $("conn-text").textContent = text;
  }

  function apply(s) {
    var slug = s.location ? s.location.slug : null;
    if (slug !== current) return; // a late snapshot for the room this screen just left
    render(s);
    checkMilestones(s);
  }

  function refetch() {
    var url = "/api/scoreboard" + (current ? "?location=" + encodeURIComponent(current) : "");
    return fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(apply);
  }

  var socket = typeof io === "function" ? io("/live", {
    transports: ["websocket"], // no sticky sessions needed behind several server processes
    reconnection: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 30000,
    randomizationFactor: 0.5,
    auth: function (cb) { cb(current ? { location: current } : {}); },
  }) : null;

  if (socket) {
    socket.on("connect", function () { disconnectedSince = null; setConn("live", "Live"); });
    socket.on("scoreboard", apply);
    socket.on("disconnect", function (reason) {
      disconnectedSince = disconnectedSince || Date.now();
      setConn("reconnecting", "Reconnecting…");
      if (reason === "io server disconnect") setTimeout(function () { socket.connect(); }, 2000);
    });
    socket.on("connect_error", function () {
      disconnectedSince = disconnectedSince || Date.now();
      setConn("reconnecting", "Reconnecting…");
      // A refusal stops the client's own retries; keep trying, slowly.
      if (!socket.active) setTimeout(function () { socket.connect(); }, 15000);
    });
  } else {
    setConn("offline", "Offline");
  }

  // While the link is down the last good numbers stay; now and then try plain HTTP as well.
  setInterval(function () {
    if (disconnectedSince === null && socket) return;
    if (disconnectedSince && Date.now() - disconnectedSince > OFFLINE_AFTER_MS) {
      setConn("offline", "Offline · showing last numbers");
    }
    refetch().catch(function () { /* keep what is on screen */ });
  }, 20000);

  // Local times on the location bars move on even when no numbers do.
  setInterval(function () {
    var now = new Date();
    document.querySelectorAll(".local-time").forEach(function (t) {
      t.textContent = clock(t.dataset.tz, false).format(now);
    });
  }, 20000);

  // ---- kiosk options -----------------------------------------------------------------------

  if (options.rotate > 0) {
    setInterval(function () {
      var stops = [null].concat(snap.locations.map(function (l) { return l.slug; }));
      var next = stops[(stops.indexOf(current) + 1) % stops.length];
      current = next;
      if (socket && socket.connected) {
        socket.emit("join", { location: current });
      } else {
        refetch().catch(function () {});
      }
    }, options.rotate * 1000);
  }

  if (options.reload > 0) {
    // A quiet reload now and then keeps a browser that runs for days fresh; only when the
    // server answers, so a screen never trades its numbers for an error page.
    var reloadLater = function (ms) {
      setTimeout(function () {
        fetch("/api/scoreboard", { cache: "no-store" })
          .then(function (r) { if (r.ok) window.location.reload(); else reloadLater(300000); })
          .catch(function () { reloadLater(300000); });
      }, ms);
    };
    reloadLater(options.reload * 60000);
  }

  render(snap);
  checkMilestones(snap);
  window.trackerBoard = { snapshot: function () { return snap; }, socket: socket };
})();
