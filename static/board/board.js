/* The big screen. It starts from the snapshot in the page, then follows /live over a websocket.
   Everything on screen can be rebuilt from one snapshot, so a reconnect simply starts over.
   User text (stories, names) only ever goes in through textContent. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var options = JSON.parse($("options").textContent);
  var snap = JSON.parse($("snapshot").textContent);
  var current = options.location || null; // the location this screen shows; null = whole event
  // Numbers and clocks as the page's language writes them (<html lang>: the location's, the
  // event's, or ?lang=); the words come from the page's catalogue (tracker.t, static/common.js).
  var lang = document.documentElement.lang || "en";
  var t = window.tracker.t;
  var numbers = new Intl.NumberFormat(lang);
  var percents = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
  var LEADERS = 10; // at most this many stations on the leaderboard (fewer when they do not fit)
  var OFFLINE_AFTER_MS = 30000;
  var STALE_AFTER_MS = 15000; // event figures older than this (on a node) are marked "as of"
  var board = $("board");
  var chart = null;
  var stories = [];
  var storyAt = 0;
  var lastTotal = null;
  var disconnectedSince = null;
  var timeFormats = {};
  var pages = []; // the location list's pages: each an array of its <li> rows
  var pageAt = 0;
  var pagedFor; // the screen (location slug or null) the page position belongs to
  var regions = null;
  try { regions = new Intl.DisplayNames([lang], { type: "region" }); } catch (e) { /* codes only */ }

  var el = window.tracker.el; // static/common.js

  // A clock in the page's language; a location's also follows its country, as on the server
  // (tracker/web/i18n.py region_locale): English in Ireland writes 14:05, in the US 2:05 PM.
  function clock(timeZone, withSeconds, country) {
    var locale = lang;
    if (country && !/-[A-Z]{2}$|-\d{3}$/.test(lang)) {
      try { locale = Intl.getCanonicalLocales(lang + "-" + country)[0]; } catch (e) { locale = lang; }
    }
    var key = locale + " " + timeZone + (withSeconds ? ":s" : "");
    if (!timeFormats[key]) {
      // A 24-hour clock keeps two digits (07:05), a 12-hour one does not (7:05 AM).
      var h12 = new Intl.DateTimeFormat(locale, { hour: "numeric" }).resolvedOptions().hour12;
      var opts = { hour: h12 ? "numeric" : "2-digit", minute: "2-digit" };
      if (withSeconds) opts.second = "2-digit";
      try { opts.timeZone = timeZone; timeFormats[key] = new Intl.DateTimeFormat(locale, opts); }
      catch (e) { delete opts.timeZone; timeFormats[key] = new Intl.DateTimeFormat(locale, opts); }
    }
    return timeFormats[key];
  }

  function percent(n) { return percents.format(n / 100); }

  function scopeZone(s) { return (s.location && s.location.timezone) || s.event.timezone; }
  // Whose clock format: the location's country, else the country of the event's time zone.
  function scopeCountry(s) { return (s.location && s.location.country) || s.event.country; }

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
    document.title = s.event.name + (here ? " · " + here.name : "") + " · " + t("live_board");
    $("location-figure").hidden = !here;
    var closed = !!(here && here.active === false);
    $("closed-note").hidden = !closed;
    if (closed) $("closed-note").textContent = t("closed", { location: here.name });
    if (here) {
      $("location-total").textContent = numbers.format(here.total);
      $("location-caption").textContent = t("in_location", { location: here.name });
    }
    $("total").textContent = numbers.format(s.total);
    $("goal").textContent = numbers.format(s.event.goal);
    $("scope-caption").textContent = here ? t("engagements_everywhere") : t("engagements");
    $("percent").textContent = percent(Math.floor((100 * s.total) / s.event.goal));
    $("goal-state").textContent = s.goal_reached ? t("goal_reached") : t("of_goal");
    board.classList.toggle("reached", !!s.goal_reached);
    $("fill").style.width = Math.min(100, (100 * s.total) / s.event.goal) + "%";
    $("fill").classList.toggle("empty", !s.total); // no stub of a bar at zero
    var bar = $("progress");
    bar.setAttribute("aria-valuenow", s.total);
    bar.setAttribute("aria-valuemax", s.event.goal);
    renderMarks(s.milestone_marks);
    var layout = board.className;
    renderLocations(s.locations, here ? here.slug : null); // first: it may change the layout
    fitFigures();
    renderNps(here ? here.nps : s.nps, here);
    fitBox($("nps"), [$("nps-score")], $("nps"));
    renderLeaders(here ? here.stations : s.leaderboard, !here);
    renderChart(s.hours, scopeZone(s));
    if (chart && board.className !== layout) chart.resize(); // now, not on the next frame
    stories = tickerStories(s);
    loadStoryFonts(stories);
    if (storyAt >= stories.length) storyAt = 0;
    showStory(false);
    if (lastTotal !== null && s.total !== lastTotal) {
      board.classList.remove("bump");
      void board.offsetWidth; // restart the animation
      board.classList.add("bump");
    }
    lastTotal = s.total;
    // A location node shows the whole event's figures as central last sent them: say how old.
    var stale = s.as_of && new Date(s.updated_at) - new Date(s.as_of) > STALE_AFTER_MS;
    $("updated").textContent = stale
      ? t("as_of", { time: clock(scopeZone(s), false, scopeCountry(s)).format(new Date(s.as_of)) })
      : t("updated", { time: clock(scopeZone(s), true, scopeCountry(s)).format(new Date()) });
    // A node cut off from central says so where the screen says "Live", in the offline colour:
    // its location's figures stay live, the event's are as of the time above.
    if (stale) setConn("offline", t("central_offline"));
    else if (socket && socket.connected && $("conn").dataset.state === "offline") setConn("live", t("live"));
  }

  function renderMarks(marks) {
    var list = $("marks");
    var items = marks.map(function (m) {
      var li = el("li", "mark" + (m.reached ? " reached" : ""));
      li.style.insetInlineStart = m.percent + "%";
      li.dataset.value = m.value;
      li.appendChild(el("span", null, percent(m.percent)));
      return li;
    });
    list.replaceChildren.apply(list, items);
    spaceMarks();
  }

  // Milestone labels never run into each other (75% beside 100% on a narrow bar): from the
  // goal backwards, a label that would touch the one after it is left out; its tick stays.
  function spaceMarks() {
    var spans = Array.prototype.slice.call(document.querySelectorAll("#marks .mark span"));
    var gap = fontSize() * 0.4;
    var kept = null;
    for (var i = spans.length - 1; i >= 0; i--) {
      spans[i].style.visibility = "";
      var r = spans[i].getBoundingClientRect();
      if (kept && r.right + gap > kept.left && kept.right + gap > r.left) {
        spans[i].style.visibility = "hidden";
      } else {
        kept = r;
      }
    }
  }

  // ---- the hero: a figure shrinks until it fits its box, never more ---------------------------

  // All big figures share one factor (--fit), so "1,234,567 / 2,000,000" and "617%" keep their
  // proportions; the factor is what makes the widest one fit beside the others, and the hero's
  // height too. Layout is read back after each try, so fonts and wrapped captions are counted.
  function fitBox(box, bigs, outer) {
    var fit = 1;
    box.style.setProperty("--fit", fit);
    for (var i = 0; i < 20; i++) {
      var over = box.scrollWidth / Math.max(1, box.clientWidth);
      bigs.forEach(function (b) {
        if (b.offsetParent !== null) over = Math.max(over, b.scrollWidth / Math.max(1, b.clientWidth));
      });
      var wide = over > 1.002;
      var tall = outer && outer.scrollHeight > outer.clientHeight + 1;
      if (!wide && !tall) return fit;
      fit = wide ? (fit / over) * 0.99 : fit * 0.93;
      if (fit < 0.15) fit = 0.15;
      box.style.setProperty("--fit", fit.toFixed(4));
    }
    return fit;
  }

  // The total is the hero: at least 72 pt at 1080p (8.9 vmin). When the figures side by side
  // leave it smaller, the percentage steps down to a line of its own under the total (stacked),
  // whichever way the total is bigger.
  var HERO_MIN_VMIN = 8.9;

  function fitFigures() {
    var figures = $("figures");
    var bigs = Array.prototype.slice.call(document.querySelectorAll("#figures .big"));
    var total = function () { return parseFloat(getComputedStyle($("total")).fontSize); };
    figures.classList.remove("stacked");
    fitBox(figures, bigs, $("hero"));
    var side = total();
    var least = (HERO_MIN_VMIN * Math.min(window.innerWidth, window.innerHeight)) / 100;
    if (side < least && window.innerWidth >= 600) {
      figures.classList.add("stacked");
      fitBox(figures, bigs, $("hero"));
      if (total() < side) {
        figures.classList.remove("stacked");
        fitBox(figures, bigs, $("hero"));
      }
    }
    fitBox($("nps"), [$("nps-score")], $("nps"));
  }

  // ---- locations: every one, a page at a time when they do not all fit --------------------

  function countryName(code) {
    try { return (regions && regions.of(code)) || code; } catch (e) { return code; }
  }

  function locationRow(l, top, hereSlug, now) {
    var li = el("li", "row" + (l.slug === hereSlug ? " here" : ""));
    li.dataset.slug = l.slug;
    li.dataset.country = l.country;
    var track = el("span", "track");
    var fill = el("span");
    fill.style.width = (100 * l.total) / top + "%"; // zero is no bar at all
    track.appendChild(fill);
    li.appendChild(track); // first, so the text paints over it
    li.appendChild(el("span", "name", l.name));
    var sub = el("span", "sub");
    var cc = el("span", "cc", l.country);
    cc.title = countryName(l.country);
    sub.appendChild(cc);
    var time = el("span", "local-time", clock(l.timezone, false, l.country).format(now));
    time.dataset.tz = l.timezone;
    time.dataset.country = l.country;
    sub.appendChild(time);
    li.appendChild(sub);
    li.appendChild(el("span", "count", numbers.format(l.total)));
    return li;
  }

  function byCountry(locations) {
    var groups = {};
    var order = [];
    locations.forEach(function (l) {
      var g = groups[l.country];
      if (!g) { g = groups[l.country] = { code: l.country, name: countryName(l.country), total: 0, locations: [] }; order.push(g); }
      g.total += l.total;
      g.locations.push(l);
    });
    return order.sort(function (a, b) { return b.total - a.total || a.name.localeCompare(b.name); });
  }

  function renderLocations(locations, hereSlug) {
    var list = $("locations");
    var top = locations.reduce(function (m, l) { return Math.max(m, l.total); }, 0) || 1;
    var now = new Date();
    var items = [];
    if (options.group === "country") {
      byCountry(locations).forEach(function (g) {
        var head = el("li", "group");
        head.dataset.country = g.code;
        head.appendChild(el("span", "country", g.name));
        head.appendChild(el("span", "count", numbers.format(g.total)));
        items.push(head);
        g.locations.forEach(function (l) { items.push(locationRow(l, top, hereSlug, now)); });
      });
    } else {
      items = locations.map(function (l) { return locationRow(l, top, hereSlug, now); });
    }
    list.replaceChildren.apply(list, items);
    layoutLocations(hereSlug);
  }

  // An event board on a landscape screen whose locations do not all fit the column beside the
  // figures turns them into a wide band of single-line rows in columns (board.css, .wide).
  function wideAllowed() {
    return board.dataset.mode === "event" && window.innerWidth > window.innerHeight && window.innerWidth >= 600;
  }

  function layoutLocations(hereSlug) {
    var list = $("locations");
    var items = Array.prototype.slice.call(list.children);
    board.classList.remove("wide");
    list.style.height = "";
    items.forEach(function (li) { li.classList.remove("page-out"); place(li, null); });
    pages = cut(items, 1);
    if (pages.length > 1 && wideAllowed()) {
      board.classList.add("wide");
      fitNames(items);
      var cols = parseInt(getComputedStyle(list).getPropertyValue("--cols"), 10) || 3;
      var gap = parseFloat(getComputedStyle(list).rowGap) || 0;
      var tallest = items.reduce(function (m, li) { return Math.max(m, li.getBoundingClientRect().height); }, 0);
      // As many rows as the locations need, each country's group whole in one column (a group
      // that does not fit the column it would start in begins the next); the grid gives the
      // band that height, or what the panels above leave it.
      var rows = rowsNeeded(items, cols);
      list.style.height = rows * tallest + (rows - 1) * gap + "px";
      pages = cut(items, cols);
    }
    if (pagedFor !== hereSlug) {
      // A screen that moved to another location starts on the page that shows it.
      pagedFor = hereSlug;
      pageAt = 0;
      pages.forEach(function (p, n) {
        if (rowsOf(p).some(function (li) { return li.dataset.slug === hereSlug; })) pageAt = n;
      });
    }
    showPage(pageAt);
  }

  // In the band a name shrinks to the secondary size (1rem) before it wraps; never an ellipsis.
  function fitNames(items) {
    var floor = fontSize();
    items.forEach(function (li) {
      var name = li.querySelector(".name");
      if (!name) return;
      name.style.fontSize = "";
      name.classList.remove("wraps");
      if (name.scrollWidth <= name.clientWidth + 1) return;
      var size = parseFloat(getComputedStyle(name).fontSize);
      name.style.fontSize = Math.max(floor, (size * name.clientWidth) / name.scrollWidth - 0.5) + "px";
      if (name.scrollWidth > name.clientWidth + 1) name.classList.add("wraps");
    });
  }

  // The sizes of the groups in rows: a country's header with its locations, or one row each.
  function groupSizes(items) {
    var sizes = [];
    items.forEach(function (li) {
      if (li.classList.contains("group") || !sizes.length || options.group !== "country") sizes.push(1);
      else sizes[sizes.length - 1] += 1;
    });
    return sizes;
  }

  // The fewest rows a column needs for the groups to fill at most `cols` columns, none split
  // that a column can hold whole (a bigger one runs on into the next column).
  function rowsNeeded(items, cols) {
    var sizes = groupSizes(items);
    for (var rows = Math.ceil(items.length / cols); rows < items.length; rows++) {
      var columns = 1;
      var used = 0;
      sizes.forEach(function (n) {
        if (used && used + n > rows && n <= rows) { columns += 1; used = 0; }
        used += n;
        while (used > rows) { columns += 1; used -= rows; }
      });
      if (columns <= cols) return rows;
    }
    return items.length;
  }

  // Cut the rows into pages of `cols` columns that each fit the list (the wall never scrolls);
  // a country's group stays in one column when it fits one, and its header never ends a
  // column without its first location. A page is its columns.
  function cut(items, cols) {
    var list = $("locations");
    var room = list.clientHeight;
    var gap = parseFloat(getComputedStyle(list).rowGap) || 0;
    var heights = items.map(function (li) { return li.getBoundingClientRect().height; });
    var result = [];
    var page = [];
    var column = [];
    var used = 0;
    items.forEach(function (li, i) {
      var need = heights[i];
      if (li.classList.contains("group")) {
        // The whole group, when a column holds it; else at least its first location.
        var whole = heights[i];
        for (var k = i + 1; k < items.length && !items[k].classList.contains("group"); k++) whole += gap + heights[k];
        need = whole <= room + 0.5 ? whole : heights[i] + (i + 1 < items.length ? gap + heights[i + 1] : 0);
      }
      if (column.length && used + gap + need > room + 0.5) {
        page.push(column);
        column = [];
        used = 0;
        if (page.length === cols) { result.push(page); page = []; }
      }
      li.dataset.top = used + (column.length ? gap : 0);
      li.dataset.column = page.length;
      used += (column.length ? gap : 0) + heights[i];
      column.push(li);
    });
    if (column.length) page.push(column);
    if (page.length) result.push(page);
    return result;
  }

  function rowsOf(page) { return [].concat.apply([], page); }

  // A row of the band sits at its column and height (inline-start follows the page's direction).
  function place(li, wide) {
    if (!wide) { li.style.top = ""; li.style.insetInlineStart = ""; return; }
    li.style.top = li.dataset.top + "px";
    var column = Number(li.dataset.column);
    li.style.insetInlineStart = column ? "calc(" + column + " * (100% + var(--col-gap)) / var(--cols))" : "";
  }

  function showPage(n) {
    var wide = board.classList.contains("wide");
    pageAt = pages.length ? ((n % pages.length) + pages.length) % pages.length : 0;
    pages.forEach(function (p, i) {
      rowsOf(p).forEach(function (li) {
        li.classList.toggle("page-out", i !== pageAt);
        if (i === pageAt) place(li, wide);
      });
    });
    var pager = $("locations-pager");
    pager.hidden = pages.length < 2;
    pager.textContent = numbers.format(pageAt + 1) + "/" + numbers.format(pages.length);
    pager.setAttribute("aria-label", t("page_of", { page: pageAt + 1, pages: pages.length }));
  }

  setInterval(function () { if (pages.length > 1) showPage(pageAt + 1); }, options.page * 1000);

  function renderNps(nps, here) {
    $("nps-scope").textContent = here ? "· " + here.name : "";
    var score = $("nps-score");
    score.textContent = nps.score === null ? t("no_scores")
      : new Intl.NumberFormat(lang, { signDisplay: "exceptZero" }).format(nps.score);
    score.className = "nps-score " + (nps.score === null ? "none" : nps.score >= 30 ? "good" : nps.score >= 0 ? "mid" : "bad");
    $("nps-p").textContent = numbers.format(nps.promoters);
    $("nps-n").textContent = numbers.format(nps.passives);
    $("nps-d").textContent = numbers.format(nps.detractors);
    var n = nps.responses || 1;
    $("nps-bar-p").style.width = (100 * nps.promoters) / n + "%";
    $("nps-bar-n").style.width = (100 * nps.passives) / n + "%";
    $("nps-bar-d").style.width = (100 * nps.detractors) / n + "%";
  }

  // Stations with engagements, best first; a tie shares its rank (1, 1, 3). A station at zero is
  // not a leader: before the first engagement the list says how to become one.
  function renderLeaders(stations, withLocation) {
    var list = $("leaders");
    var ranked = stations.filter(function (st) { return st.total > 0; }).slice(0, LEADERS);
    var rank = 0;
    var items = ranked.map(function (st, i) {
      if (i === 0 || st.total !== ranked[i - 1].total) rank = i + 1;
      var li = el("li", rank === 1 ? "first" : "");
      li.appendChild(el("span", "rank", numbers.format(rank)));
      li.appendChild(el("span", "name", st.name));
      if (withLocation && st.location) li.appendChild(el("span", "at", st.location));
      li.appendChild(el("span", "count", numbers.format(st.total)));
      return li;
    });
    if (!items.length) items = [el("li", "empty", t("no_engagements"))];
    list.replaceChildren.apply(list, items);
    // The rows that do not fit the panel are left off: it is a top list.
    while (list.children.length > 1 && list.scrollHeight > list.clientHeight + 1) list.lastElementChild.remove();
  }

  function renderChart(hours, timeZone) {
    if (typeof Chart === "undefined") return;
    var here = snap.location;
    var labels = hours.map(function (h) { return clock(timeZone, false, scopeCountry(snap)).format(new Date(h.hour)); });
    var counts = snap.event.counts;
    var series = [
      { key: "checkins", label: t("checkins"), color: cssVar("--accent") },
      { key: "conversations", label: t("conversations"), color: cssVar("--accent-2") },
    ].filter(function (d) { return counts.indexOf(d.key) >= 0; });
    renderLegend(series);
    var datasets = series.map(function (d) {
      return { label: d.label, backgroundColor: d.color, borderRadius: 4,
               data: hours.map(function (h) { return h[d.key]; }) };
    });
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets.forEach(function (ds, i) { ds.data = datasets[i] ? datasets[i].data : []; });
      hourStep = labelStep(labels);
      chart.update("none");
      return;
    }
    var fg = cssVar("--muted");
    chartFonts();
    Chart.defaults.color = fg;
    chart = new Chart($("chart"), {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        // The legend is the panel's own HTML above the plot (#chart-legend): one drawn in the
        // canvas ran into the axis' top label.
        plugins: { legend: { display: false }, tooltip: { enabled: false } },
        scales: {
          x: { stacked: true, grid: { display: false },
               ticks: { color: fg, maxRotation: 0, autoSkip: false, callback: hourLabel } },
          y: { stacked: true, beginAtZero: true, grid: { color: cssVar("--line") },
               ticks: { color: fg, precision: 0, maxTicksLimit: 5 } },
        },
      },
    });
    hourStep = labelStep(labels);
    chart.update("none");
  }

  function renderLegend(series) {
    var legend = $("chart-legend");
    var items = series.map(function (d) {
      var item = el("span", "key " + d.key);
      item.appendChild(el("span", "swatch"));
      item.appendChild(el("span", null, d.label));
      return item;
    });
    legend.replaceChildren.apply(legend, items);
  }

  // Hours are labelled every `hourStep`, counted back from the current hour, which always has
  // its label; the step is what the plot's width holds without labels touching.
  var hourStep = 1;
  function hourLabel(value, index) {
    var n = this.chart.data.labels.length;
    return (n - 1 - index) % hourStep === 0 ? this.chart.data.labels[index] : "";
  }

  function labelStep(labels) {
    if (!chart || !labels.length) return 1;
    var ctx = chart.ctx;
    ctx.save();
    ctx.font = fontSize() + "px " + Chart.defaults.font.family;
    var widest = labels.reduce(function (m, l) { return Math.max(m, ctx.measureText(l).width); }, 0);
    ctx.restore();
    var room = (chart.chartArea ? chart.chartArea.right - chart.chartArea.left : chart.width) || 1;
    var each = room / labels.length;
    return Math.max(1, Math.ceil((widest + fontSize()) / each));
  }

  // The chart speaks in the page's typeface and its secondary size (1rem: 32px at 1080p).
  function fontSize() { return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16; }

  function chartFonts() {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = fontSize();
  }

  var relayoutTimer = null;
  function relayout() {
    renderLocations(snap.locations, snap.location ? snap.location.slug : null);
    fitFigures();
    renderLeaders(snap.location ? snap.location.stations : snap.leaderboard, !snap.location);
    if (!$("celebrate").hidden) fitBox($("celebrate-text"), [$("celebrate-big")]);
    if (chart) {
      chartFonts();
      chart.update("none");
      hourStep = labelStep(chart.data.labels);
      chart.update("none");
    }
    spaceMarks();
  }

  // A typeface that arrives late (self-hosted fonts, fetched a script at a time) changes every
  // width: measure again once it is there, and whenever a new script's glyphs arrive.
  function relayoutSoon() {
    clearTimeout(relayoutTimer);
    relayoutTimer = setTimeout(relayout, 100);
  }
  window.addEventListener("resize", relayoutSoon);
  if (document.fonts && document.fonts.ready) {
    document.fonts.ready.then(relayout);
    document.fonts.addEventListener("loadingdone", relayoutSoon);
  }

  // The glyphs of every story in the ticker's queue, fetched before its turn comes (each
  // script's font arrives in slices by unicode-range), so a story never changes font on screen.
  function loadStoryFonts(list) {
    if (!document.fonts || !document.fonts.load) return;
    var family = getComputedStyle(document.body).fontFamily;
    var text = list.map(function (st) { return st.story + st.station + st.location; }).join(" ");
    if (!text.trim()) return;
    ["400", "700"].forEach(function (weight) {
      document.fonts.load(weight + " 16px " + family, text).catch(function () { /* system fonts then */ });
    });
  }

  // ---- the ticker of stories -------------------------------------------------------------

  // Customers' stories, and with ?employees=1 employees' ones ("You Define TCE") taking turns
  // with them, each marked so; the employees' own count shows beside the ticker.
  function tickerStories(s) {
    var customers = s.recent.slice(0, 10);
    if (!options.employees || !s.employees) return customers;
    $("employees-count").textContent = t("employees_n", { num: s.employees.count });
    var staff = s.employees.recent.slice(0, 10).map(function (st) {
      return { story: st.story, location: st.location, station: "", employee: true };
    });
    var out = [];
    for (var i = 0; i < Math.max(customers.length, staff.length); i++) {
      if (i < customers.length) out.push(customers[i]);
      if (i < staff.length) out.push(staff[i]);
    }
    return out;
  }

  function showStory(advance) {
    var p = $("story");
    if (!stories.length) {
      p.classList.add("empty");
      $("story-text").textContent = "";
      $("story-by").textContent = t("stories_here");
      return;
    }
    p.classList.remove("empty");
    if (advance) storyAt = (storyAt + 1) % stories.length;
    var story = stories[storyAt];
    $("story-text").textContent = story.story;
    $("story-by").textContent = story.employee ? t("employee_by", { location: story.location })
      : snap.location ? story.station
      : t("story_by", { station: story.station, location: story.location });
  }

  setInterval(function () {
    if (stories.length < 2) return;
    var p = $("story");
    p.classList.add("fade");
    setTimeout(function () { showStory(true); p.classList.remove("fade"); }, 600);
  }, 9000);

  // ---- milestones: a celebration once per milestone per screen ---------------------------

  var memory = {};
  // Kept per run of the day (the server's milestone_epoch moves when rehearsal data is cleared
  // or the goal changes): a screen that watched the rehearsal celebrates the real day.
  function seenKey(s) {
    return "tracker-board:" + s.event.slug + ":" + s.milestone_epoch + ":celebrated";
  }
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
    $("celebrate-big").textContent = mark.percent >= 100 ? t("goal_reached") : percent(mark.percent);
    var cheer = mark.percent >= 100 ? "celebrate_goal" : mark.percent === 25 ? "celebrate_quarter"
      : mark.percent === 50 ? "celebrate_half" : "celebrate_three_quarters";
    $("celebrate-small").textContent = t(cheer, { num: mark.value });
    layer.dataset.percent = mark.percent;
    confetti();
    layer.hidden = false;
    fitBox($("celebrate-text"), [$("celebrate-big")]);
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
    socket.on("connect", function () { disconnectedSince = null; setConn("live", t("live")); });
    socket.on("scoreboard", apply);
    socket.on("disconnect", function (reason) {
      disconnectedSince = disconnectedSince || Date.now();
      setConn("reconnecting", t("reconnecting"));
      if (reason === "io server disconnect") setTimeout(function () { socket.connect(); }, 2000);
    });
    socket.on("connect_error", function () {
      disconnectedSince = disconnectedSince || Date.now();
      setConn("reconnecting", t("reconnecting"));
      // A refusal stops the client's own retries; keep trying, slowly.
      if (!socket.active) setTimeout(function () { socket.connect(); }, 15000);
    });
  } else {
    setConn("offline", t("offline"));
  }

  // While the link is down the last good numbers stay; now and then try plain HTTP as well.
  setInterval(function () {
    if (disconnectedSince === null && socket) return;
    if (disconnectedSince && Date.now() - disconnectedSince > OFFLINE_AFTER_MS) {
      setConn("offline", t("offline_last"));
    }
    refetch().catch(function () { /* keep what is on screen */ });
  }, 20000);

  // Local times on the location bars move on even when no numbers do.
  setInterval(function () {
    var now = new Date();
    document.querySelectorAll(".local-time").forEach(function (span) {
      span.textContent = clock(span.dataset.tz, false, span.dataset.country).format(now);
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
  window.trackerBoard = {
    snapshot: function () { return snap; },
    socket: socket,
    // The location pages, for tests and for a curious organizer at the console.
    pages: function () { return { at: pageAt, count: pages.length }; },
    showPage: function (n) { showPage(n); return pageAt; },
  };
})();
