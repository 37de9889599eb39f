// What every page's script shares: ids made on the device, elements that carry text (never
// HTML), the page's words in its language (tracker.t), and the words of an API refusal.
// Loaded before each page's own script.
(function () {
  "use strict";

  // A v4 UUID: the id a record gets on the device, so that sending it again stores it once.
  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    // Pages over plain http on a LAN address are not a secure context: build one by hand.
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // An element with a class and text; user text only ever goes in as text.
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // The page's words (#i18n, from the gettext catalogues: tracker/web/i18n.py).
  var lang = document.documentElement.lang || "en";
  var messages = {};
  try {
    var data = document.getElementById("i18n");
    if (data) messages = JSON.parse(data.textContent) || {};
  } catch (e) { /* none: keys show */ }
  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  var numbers = window.Intl ? new Intl.NumberFormat(lang) : null;

  // 1,234 / 1.234 / 1 234, as the page's language writes it.
  function number(n) { return numbers ? numbers.format(n) : String(n); }

  // Message `key`, its %(name)s filled from `params` (numbers as the language writes them);
  // one with a form per plural category picks params.num's.
  function t(key, params) {
    var text = messages[key];
    params = params || {};
    if (text && typeof text === "object") {
      var n = Number(params.num);
      var form = plurals && isFinite(n) ? plurals.select(n) : "other";
      text = text[form] || text.other || text[Object.keys(text)[0]];
    }
    if (typeof text !== "string") return key;
    return text.replace(/%\((\w+)\)[sd]/g, function (all, name) {
      if (!(name in params)) return all;
      var value = params[name];
      return typeof value === "number" ? number(value) : String(value);
    });
  }

  // An API error body ({"error", "detail"}) in words: "field: problem; ..." or the detail.
  function problem(json, fallback) {
    var d = json && json.detail;
    if (Array.isArray(d)) {
      return d.map(function (e) { return (e.field ? e.field + ": " : "") + e.problem; }).join("; ");
    }
    if (d && typeof d === "object" && d.problem) return d.problem + "";
    return (d || fallback || t("error")) + "";
  }

  window.tracker = { uuid: uuid, el: el, problem: problem, t: t, number: number, lang: lang };
})();
