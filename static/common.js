// What every page's script shares: ids made on the device, elements that carry text (never
// HTML), and the words of an API refusal. Loaded before each page's own script.
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

  // An API error body ({"error", "detail"}) in words: "field: problem; ..." or the detail.
  function problem(json, fallback) {
    var d = json && json.detail;
    if (Array.isArray(d)) {
      return d.map(function (e) { return (e.field ? e.field + ": " : "") + e.problem; }).join("; ");
    }
    return (d || fallback || "Something went wrong. Please try again.") + "";
  }

  window.tracker = { uuid: uuid, el: el, problem: problem };
})();
