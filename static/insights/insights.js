/* The Experience Analytics Expo (/insights): a touch screen. It starts from the figures in the
   page; a tap on a chip (or a bar) filters the figures and the wall through /api/insights; after
   options.idle seconds untouched it goes back to its start view; each `scoreboard` event on the
   /live socket (the database moved) fetches the figures again for what is chosen.
   User text (stories, names) only ever goes in through textContent. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var t = window.tracker.t;
  var el = window.tracker.el;
  var lang = document.documentElement.lang || "en";
  var numbers = new Intl.NumberFormat(lang);
  var signed = new Intl.NumberFormat(lang, { signDisplay: "exceptZero" });
  var options = JSON.parse($("options").textContent);
  var figures = JSON.parse($("figures").textContent);
  var BANDS = { promoter: "promoters", passive: "passives", detractor: "detractors" };
  var FILTERS = ["topic", "location", "band", "theme"];
  var state = { topic: null, location: null, band: null, theme: null };
  var asked = 0; // the latest request: an older answer arriving late is dropped
  var charts = {};
  var idleTimer = null;
  var resets = 0;

  function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
  function rem() { return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16; }
  function atStart() { return !state.topic && !state.location && !state.band && !state.theme; }

  // ---- filters ---------------------------------------------------------------------------

  function query(s) {
    var parts = FILTERS.filter(function (k) { return s[k]; }).map(function (k) {
      return k + "=" + encodeURIComponent(s[k]);
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  function load() {
    var mine = ++asked;
    return fetch("/api/insights" + query(state), { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) { if (mine === asked) render(data); });
  }

  function choose(kind, value) {
    state[kind] = state[kind] === value ? null : value; // a second tap clears it
    markChips();
    return load().catch(function () { /* keep what is on screen */ });
  }

  function startOver() {
    FILTERS.forEach(function (k) { state[k] = null; });
    markChips();
    $("stories").scrollTop = 0;
    resets++;
    return load().catch(function () {});
  }

  function chip(kind, value, label, extraClass) {
    var b = el("button", "chip" + (extraClass ? " " + extraClass : ""), label);
    b.type = "button";
    b.dataset.filter = kind;
    b.dataset.value = value;
    b.setAttribute("aria-pressed", "false");
    return b;
  }

  function renderChips(choices) {
    var topic = $("chips-topic"), loc = $("chips-location"), band = $("chips-band");
    topic.replaceChildren.apply(topic, choices.topics.map(function (name) { return chip("topic", name, name); }));
    loc.replaceChildren.apply(loc, choices.locations.map(function (l) { return chip("location", l.slug, l.name); }));
    band.replaceChildren.apply(band, choices.bands.map(function (b) { return chip("band", b, t(BANDS[b]), "band-" + b); }));
    markChips();
  }

  function markChips() {
    document.querySelectorAll(".chip").forEach(function (c) {
      c.setAttribute("aria-pressed", String(state[c.dataset.filter] === c.dataset.value));
    });
  }

  document.querySelector(".filters").addEventListener("click", function (e) {
    var c = e.target.closest(".chip");
    if (c) choose(c.dataset.filter, c.dataset.value);
  });
  $("themes-panel").addEventListener("click", function (e) {
    var c = e.target.closest(".chip");
    if (c) choose(c.dataset.filter, c.dataset.value);
  });
  $("reset").addEventListener("click", startOver);

  // ---- figures -----------------------------------------------------------------------------

  function render(data) {
    figures = data;
    var sameChoices = JSON.stringify(data.choices) === renderChips.last;
    if (!sameChoices) { renderChips.last = JSON.stringify(data.choices); renderChips(data.choices); }
    renderNps(data.nps);
    renderTopics(data.topics);
    renderLocations(data.locations);
    renderHours(data.hours);
    renderWall(data.stories, data.employee_stories);
    renderThemes(data.choices.themes, data.talk);
  }

  // A theme as a chip that filters: its public name and its NPS beside it.
  function themeChip(theme, count) {
    var b = chip("theme", String(theme.id), theme.label, "theme-chip");
    b.dir = "auto";
    var figure = count === undefined ? theme.nps.score : count;
    if (figure !== null) b.appendChild(el("span", "figure", count === undefined ? signed.format(figure) : numbers.format(figure)));
    return b;
  }

  function renderThemes(themes, talk) {
    var row = $("chips-theme");
    row.replaceChildren.apply(row, themes.map(function (x) { return themeChip(x); }));
    [["talk-detractors", talk.detractors, "detractors"], ["talk-promoters", talk.promoters, "promoters"]].forEach(function (side) {
      var list = $(side[0]);
      list.replaceChildren.apply(list, side[1].map(function (x) {
        var li = el("li");
        li.appendChild(themeChip(x, x.nps[side[2]]));
        return li;
      }));
    });
    $("themes-panel").hidden = !themes.length;
    markChips();
  }

  function renderNps(nps) {
    var score = $("nps-score");
    score.classList.toggle("none", nps.score === null);
    score.textContent = nps.score === null ? t("no_scores") : signed.format(nps.score);
    $("nps-responses").textContent = nps.responses ? t("scores", { num: nps.responses }) : "";
    var total = nps.responses || 1;
    $("nps-bar-p").style.width = (100 * nps.promoters / total) + "%";
    $("nps-bar-n").style.width = (100 * nps.passives / total) + "%";
    $("nps-bar-d").style.width = (100 * nps.detractors / total) + "%";
    $("nps-p").textContent = numbers.format(nps.promoters);
    $("nps-n").textContent = numbers.format(nps.passives);
    $("nps-d").textContent = numbers.format(nps.detractors);
  }

  function npsColor(score) {
    if (score === null) return cssVar("--track");
    return score >= 30 ? cssVar("--good") : score >= 0 ? cssVar("--mid") : cssVar("--bad");
  }

  function hourLabel(h) {
    var d = new Date(Date.UTC(2026, 0, 1, h, 0));
    try { return new Intl.DateTimeFormat(lang, { hour: "numeric", timeZone: "UTC" }).format(d); }
    catch (e) { return h + ":00"; }
  }

  // One bar chart made once and updated in place; a tap on a bar may choose a filter.
  function bars(id, labels, values, colors, opts) {
    if (typeof Chart === "undefined") return;
    var chart = charts[id];
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets[0].data = values;
      chart.data.datasets[0].backgroundColor = colors;
      chart.$keys = opts.keys;
      chart.update("none");
      return;
    }
    var fg = cssVar("--fg"), line = cssVar("--line");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = rem() * 0.75;
    Chart.defaults.color = fg;
    var valueAxis = { grid: { color: line }, min: opts.min, max: opts.max,
                      ticks: { color: fg, precision: 0, maxRotation: 0, stepSize: opts.min === -100 ? 50 : undefined },
                      beginAtZero: true };
    // Every location and topic is named; hours may skip labels rather than tilt them.
    var labelAxis = { grid: { display: false }, ticks: { color: fg, autoSkip: !opts.horizontal, maxRotation: 0 } };
    chart = charts[id] = new Chart($(id), {
      type: "bar",
      data: { labels: labels, datasets: [{ data: values, backgroundColor: colors, borderRadius: 4,
                                           maxBarThickness: rem() * 1.8 }] },
      options: {
        indexAxis: opts.horizontal ? "y" : "x",
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false }, tooltip: { enabled: false } },
        scales: opts.horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        onClick: function (evt, elements) {
          if (!opts.filter || !elements.length || !chart.$keys) return;
          choose(opts.filter, chart.$keys[elements[0].index]);
        },
      },
    });
    chart.$keys = opts.keys;
  }

  function renderTopics(topics) {
    var shown = topics.slice(0, 8);
    bars("chart-topics", shown.map(function (x) { return x.topic; }),
      shown.map(function (x) { return x.conversations; }),
      shown.map(function (x) { return npsColor(x.nps.score); }),
      { horizontal: true, filter: "topic", keys: shown.map(function (x) { return x.topic; }) });
  }

  function renderLocations(locations) {
    bars("chart-locations", locations.map(function (l) { return l.name; }),
      locations.map(function (l) { return l.nps.score === null ? 0 : l.nps.score; }),
      locations.map(function (l) { return npsColor(l.nps.score); }),
      { horizontal: true, min: -100, max: 100, filter: "location", keys: locations.map(function (l) { return l.slug; }) });
  }

  function renderHours(hours) {
    bars("chart-hours", hours.map(function (h) { return hourLabel(h.hour); }),
      hours.map(function (h) { return h.nps.score === null ? 0 : h.nps.score; }),
      hours.map(function (h) { return npsColor(h.nps.score); }),
      { horizontal: false, min: -100, max: 100 });
  }

  function storyItem(s, employee) {
    var li = el("li", "story" + (s.band ? " " + s.band : ""));
    var text = el("p", "text", "“" + s.story + "”");
    text.dir = "auto"; // a Hebrew story reads right to left on an English screen, and back
    li.appendChild(text);
    var by = el("p", "by");
    if (employee) {
      by.appendChild(el("span", null, s.location));
    } else {
      if (s.nps !== null) by.appendChild(el("span", "score", numbers.format(s.nps) + "/10"));
      by.appendChild(el("span", null, t("story_by", { station: s.station, location: s.location })));
      if (s.topics.length) by.appendChild(el("span", "topics", s.topics.join(" · ")));
    }
    li.appendChild(by);
    if (!employee) { li.dataset.location = s.location_slug; li.dataset.topics = JSON.stringify(s.topics); }
    return li;
  }

  function renderWall(stories, employees) {
    var list = $("stories");
    var items = stories.map(function (s) { return storyItem(s, false); });
    if (!items.length) items = [el("li", "empty", t("no_stories"))];
    list.replaceChildren.apply(list, items);
    var mine = $("employee-stories");
    $("employees").hidden = !employees.length;
    mine.replaceChildren.apply(mine, employees.map(function (s) { return storyItem(s, true); }));
  }

  // ---- idle: back to the start view after options.idle seconds untouched -------------------

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () {
      if (!atStart() || $("stories").scrollTop) startOver();
    }, options.idle * 1000);
  }
  ["pointerdown", "touchstart", "wheel", "keydown"].forEach(function (name) {
    document.addEventListener(name, touched, { passive: true, capture: true });
  });
  touched();

  // ---- live: the database moved, so fetch what is chosen again -----------------------------

  function setConn(stateName, text) { $("conn").dataset.state = stateName; $("conn-text").textContent = text; }
  var pending = null;
  function refetchSoon() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; load().catch(function () {}); }, 300);
  }
  var socket = typeof io === "function" ? io("/live", {
    transports: ["websocket"], reconnection: true, reconnectionDelay: 1000, reconnectionDelayMax: 30000,
  }) : null;
  if (socket) {
    socket.on("connect", function () { setConn("live", t("live")); });
    socket.on("scoreboard", refetchSoon);
    socket.on("disconnect", function () { setConn("reconnecting", t("reconnecting")); });
    socket.on("connect_error", function () {
      setConn("reconnecting", t("reconnecting"));
      if (!socket.active) setTimeout(function () { socket.connect(); }, 15000);
    });
  } else {
    setConn("offline", t("offline"));
  }

  // While the link is down, plain HTTP now and then keeps the figures fresh.
  setInterval(function () {
    if (!socket || !socket.connected) load().catch(function () {});
  }, 20000);

  // Charts follow the screen (and a late font) in size.
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) {
      Chart.defaults.font.size = rem() * 0.75;
      charts[k].resize();
    });
  });
  if (document.fonts && document.fonts.ready) {
    document.fonts.ready.then(function () { Object.keys(charts).forEach(function (k) { charts[k].update("none"); }); });
  }

  render(figures);
  window.trackerInsights = {
    state: function () { return { topic: state.topic, location: state.location, band: state.band, theme: state.theme }; },
    figures: function () { return figures; },
    resets: function () { return resets; },
    socket: socket,
  };
})();
