// The dashboard's charts: data from <script type="application/json" id="report-charts">,
// one Chart.js chart per <canvas data-chart="key">. No inline code (the site's CSP).
(function () {
  "use strict";
  var COLORS = ["#2f6fb0", "#2e7d32", "#c2410c", "#7c3aed", "#b91c1c", "#0e7490", "#a16207"];

  function draw() {
    var source = document.getElementById("report-charts");
    if (!source || typeof window.Chart === "undefined") return;
    var charts = JSON.parse(source.textContent);
    charts.forEach(function (chart) {
      var canvas = document.querySelector('canvas[data-chart="' + chart.key + '"]');
      if (!canvas || !chart.rows.length) return;
      var labels = chart.rows.map(function (row) { return String(row[0]); });
      var datasets = chart.series.map(function (index, n) {
        var color = COLORS[n % COLORS.length];
        return {
          label: chart.columns[index].label,
          data: chart.rows.map(function (row) { return row[index]; }),
          backgroundColor: chart.kind === "doughnut"
            ? chart.rows.map(function (_row, i) { return COLORS[i % COLORS.length]; })
            : color,
          borderColor: color,
          fill: false,
          tension: 0.2
        };
      });
      new window.Chart(canvas, {
        type: chart.kind,
        data: { labels: labels, datasets: datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { position: "bottom" } }
        }
      });
      canvas.setAttribute("data-drawn", "true");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
