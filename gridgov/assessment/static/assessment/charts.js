// The ranking's charts: the composite score per object (bars coloured by their mark) and the monthly trend.
(function () {
  function start() {
    var el = document.getElementById("as-chart-data");
    if (!el || !window.echarts) return;
    var data = JSON.parse(el.textContent);
    var colours = { red: "#d64545", yellow: "#e0a100", green: "#2f9e44" };
    var quiet = navigator.webdriver === true; // no animation in tests
    var bar = echarts.init(document.getElementById("as-bar"));
    bar.setOption({
      animation: !quiet,
      grid: { left: 8, right: 16, top: 10, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: 100 },
      yAxis: { type: "category", inverse: true, data: data.names },
      tooltip: { trigger: "axis" },
      series: [{
        type: "bar", name: data.title,
        data: data.scores.map(function (v, i) { return { value: v, itemStyle: { color: colours[data.marks[i]] || "#4a78c2" } }; }),
        label: { show: true, position: "right" }
      }]
    });
    var line = echarts.init(document.getElementById("as-trend"));
    line.setOption({
      animation: !quiet,
      grid: { left: 8, right: 16, top: 64, bottom: 8, containLabel: true },
      legend: { top: 0, left: 0 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.trend.months },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value} %" } },
      series: data.trend.series.map(function (s) { return { type: "line", name: s.name, data: s.values, connectNulls: true }; })
    });
    window.addEventListener("resize", function () { bar.resize(); line.resize(); });
    document.body.dataset.chartsReady = "1";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
