// Staffing chart on the home dashboard (ECharts, vendored).
(function () {
  const el = document.getElementById("staffing-chart");
  if (!el || !window.echarts) return;
  const data = JSON.parse(el.dataset.chart);
  const chart = echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: ["配齐", "未配齐"], bottom: 0 },
    grid: { left: 8, right: 8, top: 10, bottom: 30, containLabel: true },
    xAxis: { type: "category", data: data.stations, axisLabel: { interval: 0, rotate: data.stations.length > 4 ? 35 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: "配齐", type: "bar", stack: "g", data: data.compliant, itemStyle: { color: "#2fb344" } },
      { name: "未配齐", type: "bar", stack: "g", data: data.gaps, itemStyle: { color: "#d63939" } },
    ],
  });
  window.addEventListener("resize", () => chart.resize());
})();
