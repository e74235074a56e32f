/* Consent dashboards: draws the funnel and the decisions over time with Chart.js.
 *
 * The figures come from the page itself (a json_script element, #dashboard-charts), already
 * suppressed by the server: a hidden figure is null and is left out of the drawing, never
 * guessed. Every chart has the same numbers in the table beside it, so the page works
 * without JavaScript and for screen readers; the charts are an enhancement. No inline
 * script: this file is all there is, so a strict Content Security Policy can allow it.
 */
(function () {
  "use strict";

  var source = document.getElementById("dashboard-charts");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  // The portal's palette: each colour has at least 3:1 contrast with the white background.
  var COLOURS = {
    opted_in: "#0f6b3a",
    effective: "#0b5cad",
    undrafted: "#6f3fa6",
    opted_out: "#a4161a",
    expired: "#8a4b00",
    no_consent: "#4a5360",
    withdrawn: "#1b1f24",
  };
  var INK = "#1b1f24";
  var LINE = "#c9d1db";

  Chart.defaults.color = INK;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  // Figures, not a show: drawn at once (nothing moves for people who avoid motion, either).
  Chart.defaults.animation = false;

  function place(name, description, height) {
    var box = document.querySelector('[data-chart="' + name + '"]');
    if (!box) {
      return null;
    }
    box.hidden = false;
    box.style.position = "relative";
    box.style.height = height;
    box.style.marginBottom = "1rem";
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", description);
    box.appendChild(canvas);
    return canvas;
  }

  function shown(values, least) {
    return values.filter(function (v) { return v !== null; }).length >= (least || 1);
  }

  function funnel(spec) {
    if (!shown(spec.values, 2)) {
      return; // one bar is no funnel: the table says it all
    }
    var canvas = place("funnel", spec.title + ". " + tableNote(), "14rem");
    if (!canvas) {
      return;
    }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [{ data: spec.values, backgroundColor: "#0b5cad", borderColor: "#08457f", borderWidth: 1 }],
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        plugins: { legend: { display: false }, title: { display: false } },
        scales: {
          x: { beginAtZero: true, grid: { color: LINE }, ticks: { precision: 0 } },
          y: { grid: { display: false } },
        },
      },
    });
  }

  function timeline(spec) {
    var series = spec.series.filter(function (s) { return shown(s.values); });
    if (!series.length) {
      return;
    }
    var canvas = place("timeline", spec.title + ". " + tableNote(), "18rem");
    if (!canvas) {
      return;
    }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: series.map(function (s) {
          return { label: s.label, data: s.values, backgroundColor: COLOURS[s.key] || INK };
        }),
      },
      options: {
        maintainAspectRatio: false,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, grid: { color: LINE }, ticks: { precision: 0 } },
        },
      },
    });
  }

  function tableNote() {
    return data.note || "";
  }

  if (data.funnel) {
    funnel(data.funnel);
  }
  if (data.timeline) {
    timeline(data.timeline);
  }
})();
