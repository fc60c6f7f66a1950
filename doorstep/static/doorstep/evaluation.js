// KPI pages (考核指标): the formula row of the table, the ranking bar chart and the trend line (ECharts, vendored).
(function () {
  // Formulas: each ⓘ in the header shows its formula as a tooltip; a click (or the button) toggles the row.
  const formulas = document.querySelector("[data-testid=kpi-formulas]");
  const toggle = document.querySelector("[data-toggle-formulas]");
  function flip() {
    if (!formulas) return;
    formulas.hidden = !formulas.hidden;
    if (toggle) toggle.setAttribute("aria-expanded", String(!formulas.hidden));
  }
  if (toggle) toggle.addEventListener("click", flip);
  document.querySelectorAll("button[data-formula]").forEach((b) => b.addEventListener("click", flip));

  // A period value of one kind means nothing to another: switching the kind starts from the current period.
  const kind = document.querySelector("[data-period-kind]");
  const value = document.querySelector("[data-period-value]");
  if (kind && value) kind.addEventListener("change", () => { value.value = ""; });

  if (!window.echarts) return;
  const charts = [];

  const rankingData = document.getElementById("kpi-ranking-data");
  const rankingEl = document.getElementById("kpi-ranking-chart");
  if (rankingData && rankingEl) {
    const data = JSON.parse(rankingData.textContent);
    const chart = echarts.init(rankingEl, null, { renderer: "svg" });
    // Best at the top: ECharts draws a category y axis bottom-up.
    const names = data.names.slice().reverse();
    const scores = data.scores.slice().reverse();
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 8, right: 30, top: 10, bottom: 10, containLabel: true },
      xAxis: { type: "value", max: 100 },
      yAxis: { type: "category", data: names, axisLabel: { interval: 0 } },
      series: [{ name: "综合得分", type: "bar", data: scores, itemStyle: { color: "#206bc4" },
        label: { show: names.length <= 30, position: "right" } }],
    });
    charts.push(chart);
  }

  const trendData = document.getElementById("kpi-trend-data");
  const trendEl = document.getElementById("kpi-trend-chart");
  if (trendData && trendEl) {
    const data = JSON.parse(trendData.textContent);
    const chart = echarts.init(trendEl, null, { renderer: "svg" });
    const series = { name: data.name, type: "line", data: data.values, connectNulls: false,
      itemStyle: { color: "#206bc4" }, label: { show: true, formatter: (p) => (p.value == null ? "" : p.value + data.unit) } };
    if (data.target !== null) {
      series.markLine = { symbol: "none", lineStyle: { color: "#d63939", type: "dashed" },
        label: { formatter: "目标 " + data.target + data.unit }, data: [{ yAxis: data.target }] };
    }
    chart.setOption({
      tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "—" : v + data.unit) },
      grid: { left: 8, right: 40, top: 20, bottom: 30, containLabel: true },
      xAxis: { type: "category", data: data.labels, axisLabel: { rotate: data.labels.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", scale: true },
      series: [series],
    });
    charts.push(chart);
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
