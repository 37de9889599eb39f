// Sign-in: choosing a location narrows the station list to that location's stations.
(function () {
  "use strict";
  var location = document.getElementById("location");
  var station = document.getElementById("station");
  if (!location || !station) return;
  function narrow() {
    var chosen = location.value;
    Array.prototype.forEach.call(station.querySelectorAll("optgroup"), function (group) {
      var show = !chosen || group.dataset.location === chosen;
      group.hidden = !show;
      group.disabled = !show;
    });
    var selected = station.selectedOptions[0];
    if (selected && selected.parentElement.disabled) station.value = "";
  }
  location.addEventListener("change", narrow);
  narrow();
})();
