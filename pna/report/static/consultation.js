
// Postcode search for the consultation page. Data comes from the JSON block written by
// pna.report.consultation; it is only ever put into the page with textContent.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("pna-data").textContent);
  var DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  var POSTCODE = /^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$/;
  var perSite = 2 + data.modes.length;

  var form = document.getElementById("search");
  var input = document.getElementById("postcode");
  var field = document.getElementById("postcode-field");
  var errorBox = document.getElementById("postcode-error");
  var statusBox = document.getElementById("status");
  var results = document.getElementById("results");
  var heading = document.getElementById("results-heading");
  var list = document.getElementById("results-list");

  function normalise(text) {
    var compact = String(text || "").replace(/\s+/g, "").toUpperCase();
    var m = POSTCODE.exec(compact);
    return m ? m[1] + " " + m[2] : null;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function clockText(minute) {
    if (minute === 0 || minute === 1440) { return "midnight"; }
    if (minute === 720) { return "12 noon"; }
    var h = Math.floor(minute / 60), m = minute % 60;
    var suffix = h < 12 ? "am" : "pm";
    var h12 = h % 12 === 0 ? 12 : h % 12;
    return h12 + (m ? ":" + (m < 10 ? "0" : "") + m : "") + suffix;
  }

  function hoursText(hours) {
    if (hours === null || hours === undefined) { return "not known"; }
    if (typeof hours === "string") { return hours; }
    if (hours.length === 0) { return "closed"; }
    return hours.map(function (iv) { return clockText(iv[0]) + " to " + clockText(iv[1]); }).join(", and ");
  }

  function dayIndex(now) { return (now.getDay() + 6) % 7; }

  // What to say about today: {cls, status, today}
  function today(hours, now) {
    var day = DAY_NAMES[dayIndex(now)];
    if (hours === null || hours === undefined) {
      return { cls: "status-unknown", mark: "?", status: "We do not know its opening hours today. Check before you go.", today: null };
    }
    if (typeof hours === "string") {
      return { cls: "status-unknown", mark: "?", status: "Check the opening hours before you go.",
               today: "Opening hours today (" + day + "), as written in the NHS list: " + hours };
    }
    if (hours.length === 0) {
      return { cls: "status-closed", mark: "\u2715", status: "Closed today (" + day + ").", today: null };
    }
    var minute = now.getHours() * 60 + now.getMinutes();
    var status = null, cls = "status-closed", mark = "\u2715";
    for (var i = 0; i < hours.length; i++) {
      if (minute >= hours[i][0] && minute < hours[i][1]) {
        status = "Open now. It closes at " + clockText(hours[i][1]) + ".";
        cls = "status-open"; mark = "\u2713";
        break;
      }
      if (minute < hours[i][0]) {
        status = "Closed now. It opens at " + clockText(hours[i][0]) + " today.";
        break;
      }
    }
    if (status === null) { status = "Closed now. It has closed for the rest of today."; }
    return { cls: cls, mark: mark, status: status, today: "Open today (" + day + "): " + hoursText(hours) + "." };
  }

  function distanceText(metres) {
    var miles = metres / 1609.344;
    var km = metres / 1000;
    if (metres < 100) { return "Less than 0.1 miles (100 metres) away in a straight line"; }
    return miles.toFixed(1) + " miles (" + km.toFixed(1) + " km) away in a straight line";
  }

  function minutesText(m) {
    if (m < 0) { return "No route found"; }
    if (m < 1) { return "Less than 1 minute"; }
    if (m < 60) { return "About " + m + (m === 1 ? " minute" : " minutes"); }
    var h = Math.floor(m / 60), r = m % 60;
    return "About " + h + (h === 1 ? " hour" : " hours") + (r ? " " + r + (r === 1 ? " minute" : " minutes") : "");
  }

  function weekTable(hours, todayIdx, name) {
    var details = el("details");
    details.appendChild(el("summary", null, "Opening hours for every day"));
    var table = el("table", "week");
    table.appendChild(el("caption", "visually-hidden", "Opening hours of " + name));
    var body = el("tbody");
    for (var d = 0; d < 7; d++) {
      var tr = el("tr");
      var th = el("th", null, DAY_NAMES[d] + (d === todayIdx ? " (today)" : ""));
      th.setAttribute("scope", "row");
      tr.appendChild(th);
      var h = hoursText(hours[d]);
      tr.appendChild(el("td", null, h.charAt(0).toUpperCase() + h.slice(1)));
      body.appendChild(tr);
    }
    table.appendChild(body);
    details.appendChild(table);
    return details;
  }

  function card(rank, row, offset, now) {
    var p = data.pharmacies[row[offset]];
    var li = el("li", "card");
    var h3 = el("h3");
    var RANKS = ["Closest", "Second closest", "Third closest", "Fourth closest", "Fifth closest"];
    h3.appendChild(el("span", "rank", RANKS[rank - 1] || "Number " + rank));
    h3.appendChild(el("span", "name", p.name));
    li.appendChild(h3);
    li.appendChild(el("p", "address", p.address + (p.postcode ? ", " + p.postcode.replace(" ", "\u00a0") : "")));
    if (!p.in_area) { li.appendChild(el("p", null, "This pharmacy is just outside " + data.area + ".")); }
    li.appendChild(el("p", "distance", distanceText(row[offset + 1])));
    var t = today(p.hours[dayIndex(now)], now);
    var status = el("p", "status " + t.cls);
    status.appendChild(el("span", null, t.mark + " ")).setAttribute("aria-hidden", "true");
    status.appendChild(document.createTextNode(t.status));
    li.appendChild(status);
    if (t.today) { li.appendChild(el("p", "today", t.today)); }
    if (data.modes.length) {
      li.appendChild(el("h4", null, "Time to get there"));
      var dl = el("dl", "travel");
      data.modes.forEach(function (mode, j) {
        dl.appendChild(el("dt", null, mode.label));
        var dd = el("dd", "minutes-" + mode.key, minutesText(row[offset + 2 + j]));
        if (mode.estimate) {
          var tag = el("a", "tag", "estimate");
          tag.href = "#how-" + mode.key;
          dd.appendChild(document.createTextNode(" "));
          dd.appendChild(tag);
        }
        dl.appendChild(dd);
      });
      li.appendChild(dl);
    }
    li.appendChild(weekTable(p.hours, dayIndex(now), p.name));
    return li;
  }

  function showError(message) {
    results.hidden = true;
    errorBox.textContent = "";
    field.classList.add("has-error");
    input.setAttribute("aria-invalid", "true");
    // set on the next frame so screen readers hear a change even for the same message
    window.setTimeout(function () { errorBox.textContent = message; }, 50);
    statusBox.textContent = "";
    input.focus();
  }

  function clearError() {
    errorBox.textContent = "";
    field.classList.remove("has-error");
    input.removeAttribute("aria-invalid");
  }

  function isOutside(outward, inward) {
    var known = data.outside[outward];
    return known !== undefined && (" " + known + " ").indexOf(" " + inward + " ") !== -1;
  }

  function search(raw) {
    if (!String(raw || "").trim()) {
      showError("Enter your postcode, for example " + data.example + ".");
      return;
    }
    var pc = normalise(raw);
    if (!pc) {
      showError("That does not look like a postcode. A postcode looks like " + data.example + ". Check it and try again.");
      return;
    }
    input.value = pc;
    var parts = pc.split(" ");
    var inArea = data.postcodes[parts[0]];
    var row = inArea ? inArea[parts[1]] : undefined;
    if (row === undefined) {
      if (isOutside(parts[0], parts[1]) || data.outside_districts.indexOf(parts[0]) !== -1) {
        showError(pc + " is not in " + data.area + ". This page only covers " + data.area +
                  ". The council for your area publishes its own pharmaceutical needs assessment.");
      } else if (inArea) {
        showError("We could not find the postcode " + pc + ". Check it and try again.");
      } else {
        showError("We could not find " + pc + " in " + data.area + ". This page only covers postcodes in " +
                  data.area + ".");
      }
      return;
    }
    clearError();
    var now = new Date();
    while (list.firstChild) { list.removeChild(list.firstChild); }
    var n = row.length / perSite;
    for (var i = 0; i < n; i++) { list.appendChild(card(i + 1, row, i * perSite, now)); }
    heading.textContent = "Pharmacies near " + pc;
    results.hidden = false;
    statusBox.textContent = "Found " + n + " pharmacies near " + pc + ".";
    heading.focus();
  }

  if (!form) { return; }  // no postcode list for this area: the page says so
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    search(input.value);
  });
})();
