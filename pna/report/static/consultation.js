// The consultation page. Data and every word come from the JSON block written by
// pna.report.consultation (the page's catalogue); data is only ever put into the page with textContent.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("pna-data").textContent);
  var MSG = data.i18n.messages;
  var POSTCODE = /^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$/;
  var perSite = data.per_site;
  var WALK = 0;
  data.modes.forEach(function (m, j) { if (m.key === "walk") { WALK = j; } });
  var hasWalk = data.modes.some(function (m) { return m.key === "walk"; });

  function t(key, values) {
    var text = MSG[key];
    if (text === undefined) { throw new Error("no message " + key); }
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined ? String(values[name]) : all;
    });
  }

  // ------------------------------------------------------------------ consultation window
  // The state follows this device's date; the page was written for data-today.
  function isoToday(now) {
    var m = now.getMonth() + 1, d = now.getDate();
    return now.getFullYear() + "-" + (m < 10 ? "0" : "") + m + "-" + (d < 10 ? "0" : "") + d;
  }

  function windowState(today) {
    var box = document.getElementById("consult-state");
    var opens = box.getAttribute("data-opens"), closes = box.getAttribute("data-closes");
    if (!opens || !closes) { return "none"; }
    if (today < opens) { return "before"; }
    return today <= closes ? "during" : "after";
  }

  function showState(state) {
    document.getElementById("consult-state").setAttribute("data-state", state);
    var nodes = document.querySelectorAll("[data-when]");
    for (var i = 0; i < nodes.length; i++) { nodes[i].hidden = nodes[i].getAttribute("data-when") !== state; }
    var ways = document.querySelectorAll("[data-when-not]");
    for (var j = 0; j < ways.length; j++) { ways[j].hidden = ways[j].getAttribute("data-when-not") === state; }
  }

  showState(windowState(isoToday(new Date())));

  // ------------------------------------------------------------------ helpers
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

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function clockText(minute) {
    if (minute === 0 || minute === 1440) { return t("clock.midnight"); }
    if (minute === 720) { return t("clock.noon"); }
    var h = Math.floor(minute / 60), m = minute % 60;
    var h12 = h % 12 === 0 ? 12 : h % 12;
    var text = h12 + (m ? ":" + (m < 10 ? "0" : "") + m : "");
    return t(h < 12 ? "clock.am" : "clock.pm", { t: text });
  }

  function hoursText(hours) {
    if (hours === null || hours === undefined) { return t("hours.unknown"); }
    if (typeof hours === "string") { return hours; }
    if (hours.length === 0) { return t("hours.closed"); }
    return hours.map(function (iv) {
      return t("hours.range", { from: clockText(iv[0]), to: clockText(iv[1]) });
    }).join(t("hours.and"));
  }

  function dayIndex(now) { return (now.getDay() + 6) % 7; }
  function dayName(d) { return t("day." + d); }

  // Is the pharmacy open on day d at minute? true, false, or null (hours not known).
  function openAt(hours, d, minute) {
    var h = hours[d];
    if (h === null || h === undefined || typeof h === "string") { return null; }
    for (var i = 0; i < h.length; i++) { if (minute >= h[i][0] && minute < h[i][1]) { return h[i]; } }
    return false;
  }

  // What to say about a pharmacy at a moment: {cls, mark, status, today}
  function statusAt(hours, d, minute, isNow) {
    var day = dayName(d), h = hours[d];
    if (h === null || h === undefined) {
      return { cls: "status-unknown", mark: "?", status: t("status.unknown"), today: null };
    }
    if (typeof h === "string") {
      return { cls: "status-unknown", mark: "?", status: t("status.unreadable"),
               today: t("status.today_raw", { day: day, hours: h }) };
    }
    if (h.length === 0) {
      return { cls: "status-closed", mark: "\u2715", status: t("status.closed_day", { day: day }), today: null };
    }
    var status = null, cls = "status-closed", mark = "\u2715";
    for (var i = 0; i < h.length; i++) {
      if (minute >= h[i][0] && minute < h[i][1]) {
        status = t(isNow ? "status.open_now" : "status.open_at", { time: clockText(h[i][1]) });
        cls = "status-open"; mark = "\u2713";
        break;
      }
      if (minute < h[i][0]) { status = t("status.opens_later", { time: clockText(h[i][0]) }); break; }
    }
    if (status === null) { status = t("status.closed_rest"); }
    return { cls: cls, mark: mark, status: status, today: t("status.today_hours", { day: day, hours: hoursText(h) }) };
  }

  function distanceText(metres) {
    if (metres < 100) { return t("dist.under"); }
    return t("dist.away", { miles: (metres / 1609.344).toFixed(1), km: (metres / 1000).toFixed(1) });
  }

  function minutesText(m) {
    if (m < 0) { return t("min.none"); }
    if (m <= 1) { return t("min.one"); }
    if (m < 60) { return t("min.n", { n: m }); }
    var h = Math.floor(m / 60), r = m % 60;
    return h === 1 ? t("min.hour_one", { m: r }) : t("min.hours", { h: h, m: r });
  }

  // A bus is never shown as quicker than walking a short trip: it needs a walk to the stop and a wait.
  function modeText(mode, j, row, offset) {
    var m = row[offset + 2 + j];
    if (mode.key === "transit" && hasWalk) {
      var walk = row[offset + 2 + WALK];
      if (walk >= 0 && (walk <= data.walk_instead || (m >= 0 && m >= walk))) {
        return { text: walk <= 1 ? t("min.walk_quicker_one") : t("min.walk_quicker", { n: walk }), quicker: true };
      }
    }
    return { text: minutesText(m), quicker: false };
  }

  function weekTable(hours, todayIdx, name) {
    var details = el("details");
    details.appendChild(el("summary", null, t("card.week")));
    var table = el("table", "week");
    table.appendChild(el("caption", "visually-hidden", t("card.week_caption", { name: name })));
    var body = el("tbody");
    for (var d = 0; d < 7; d++) {
      var tr = el("tr");
      var th = el("th", null, d === todayIdx ? t("day.today", { day: dayName(d) }) : dayName(d));
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

  function phoneLine(p) {
    if (!p.phone) { return el("p", "phone", t("card.no_phone")); }
    var line = el("p", "phone", t("card.phone") + " ");
    var a = el("a", null, p.phone);
    a.href = "tel:" + p.tel;
    a.setAttribute("dir", "ltr");
    line.appendChild(a);
    return line;
  }

  // One pharmacy; moment = {day, minute, now}
  function card(tag, label, row, offset, moment, headingTag) {
    var p = data.pharmacies[row[offset]];
    var li = el(tag, "card");
    var h = el(headingTag);
    if (label) { h.appendChild(el("span", "rank", label)); }
    h.appendChild(el("span", "name", p.name));
    li.appendChild(h);
    li.appendChild(el("p", "address", p.address + (p.postcode ? ", " + p.postcode.replace(" ", "\u00a0") : "")));
    if (!p.in_area) { li.appendChild(el("p", null, t("card.outside", { area: data.area }))); }
    li.appendChild(phoneLine(p));
    li.appendChild(el("p", "distance", distanceText(row[offset + 1])));
    var s = statusAt(p.hours, moment.day, moment.minute, moment.now);
    var status = el("p", "status " + s.cls);
    status.appendChild(el("span", null, s.mark + " ")).setAttribute("aria-hidden", "true");
    status.appendChild(document.createTextNode(s.status));
    li.appendChild(status);
    if (s.today && moment.now) { li.appendChild(el("p", "today", s.today)); }
    if (data.modes.length) {
      li.appendChild(el("p", "label", t("card.time_heading")));
      var dl = el("dl", "travel");
      data.modes.forEach(function (mode, j) {
        dl.appendChild(el("dt", null, mode.label));
        var shown = modeText(mode, j, row, offset);
        var dd = el("dd", "minutes-" + mode.key + (shown.quicker ? " walk-quicker" : ""), shown.text);
        if (mode.estimate && !shown.quicker) {
          var tag2 = el("a", "tag", t("card.estimate"));
          tag2.href = "#how-" + mode.key;
          dd.appendChild(document.createTextNode(" "));
          dd.appendChild(tag2);
        }
        dl.appendChild(dd);
      });
      li.appendChild(dl);
    }
    li.appendChild(el("p", "hours-note small", t("card.hours_note", { date: data.as_at })));
    li.appendChild(weekTable(p.hours, moment.now ? moment.day : -1, p.name));
    return li;
  }

  // ------------------------------------------------------------------ search
  var form = document.getElementById("search");
  if (!form) { return; }  // no postcode list for this area: the page says so
  var input = document.getElementById("postcode");
  var field = document.getElementById("postcode-field");
  var errorBox = document.getElementById("postcode-error");
  var statusBox = document.getElementById("status");
  var results = document.getElementById("results");
  var areaHeading = document.getElementById("area-heading");
  var list = document.getElementById("results-list");
  var openBox = document.getElementById("open-result");
  var current = null;

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

  function fillList(id, lines) {
    var ul = document.getElementById(id);
    clear(ul);
    lines.forEach(function (line) { ul.appendChild(el("li", null, line)); });
    ul.hidden = lines.length === 0;
  }

  function showArea(loc) {
    if (loc < 0 || !data.localities[loc]) {
      areaHeading.textContent = t("area.heading", { locality: data.area });
      document.getElementById("area-intro").textContent = t("area.none", { area: data.area });
      ["area-provision", "area-access", "area-open"].forEach(function (id) { fillList(id, []); });
      return;
    }
    var f = data.localities[loc];
    areaHeading.textContent = t("area.heading", { locality: f.name });
    document.getElementById("area-intro").textContent = t("area.intro", { locality: f.name, area: data.area });
    fillList("area-provision", f.provision);
    fillList("area-access", f.access.concat(f.modes));
    fillList("area-open", f.open);
  }

  function chosenMoment() {
    var picked = document.querySelector("input[name=when]:checked");
    var now = new Date();
    if (!picked || picked.value === "now") {
      return { day: dayIndex(now), minute: now.getHours() * 60 + now.getMinutes(), now: true };
    }
    var tm = data.times[Number(picked.value)];
    return { day: tm.day, minute: tm.minute, now: false, time: tm.time };
  }

  function showOpen() {
    if (!current) { return; }
    var row = current.row, n = (row.length - 1) / perSite;
    var moment = chosenMoment();
    var when = moment.now ? t("open.when_now") : t("open.when_at", { day: dayName(moment.day), time: moment.time });
    clear(openBox);
    var unknown = false;
    for (var i = 0; i < n; i++) {
      var p = data.pharmacies[row[i * perSite]];
      var open = openAt(p.hours, moment.day, moment.minute);
      if (open) {
        openBox.appendChild(el("p", "open-found", t("open.found", { when: when })));
        openBox.appendChild(card("div", null, row, i * perSite, moment, "h4"));
        return;
      }
      if (open === null) { unknown = true; }
    }
    // never "none is open" when some hours are not known
    var text = unknown ? t("open.hours_unknown", { when: when })
      : (moment.now ? t("open.none_now", { n: n }) : t("open.none_at", { when: when }));
    openBox.appendChild(el("p", "open-none status-closed", text));
  }

  function search(raw) {
    if (!String(raw || "").trim()) {
      showError(t("err.empty", { example: data.example }));
      return;
    }
    var pc = normalise(raw);
    if (!pc) {
      showError(t("err.format", { example: data.example }));
      return;
    }
    input.value = pc;
    var parts = pc.split(" ");
    var inArea = data.postcodes[parts[0]];
    var row = inArea ? inArea[parts[1]] : undefined;
    if (row === undefined) {
      if (isOutside(parts[0], parts[1]) || data.outside_districts.indexOf(parts[0]) !== -1) {
        showError(t("err.outside", { postcode: pc, area: data.area }));
      } else if (inArea) {
        showError(t("err.unknown", { postcode: pc }));
      } else {
        showError(t("err.not_here", { postcode: pc, area: data.area }));
      }
      return;
    }
    clearError();
    current = { row: row, postcode: pc };
    var now = new Date();
    var moment = { day: dayIndex(now), minute: now.getHours() * 60 + now.getMinutes(), now: true };
    clear(list);
    for (var i = 0; i < data.k; i++) {
      var label = MSG["rank." + (i + 1)] !== undefined ? t("rank." + (i + 1)) : t("rank.n", { n: i + 1 });
      list.appendChild(card("li", label, row, i * perSite, moment, "h4"));
    }
    showArea(row[row.length - 1]);
    showOpen();
    document.getElementById("results-heading").textContent = t("results.heading_pc", { postcode: pc });
    results.hidden = false;
    statusBox.textContent = t("results.found", { n: data.k, postcode: pc });
    areaHeading.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    search(input.value);
  });
  var radios = document.querySelectorAll("input[name=when]");
  for (var r = 0; r < radios.length; r++) { radios[r].addEventListener("change", showOpen); }
})();
