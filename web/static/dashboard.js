// Dashboard charts (Chart.js, served locally) from the numbers embedded in the page.
(function () {
  "use strict";
  const { d, labels } = JSON.parse(document.getElementById("dashboard-data").textContent);
  const blue = "#2c6e9b", red = "#b3261e", palette = ["#2c6e9b", "#e08e0b", "#3a7d44", "#8e44ad", "#b3261e"];
  const common = { responsive: true, maintainAspectRatio: false, animation: false };

  new Chart(document.getElementById("chart-section"), {
    type: "bar",
    data: {
      labels: d.section.map((r) => r.post),
      datasets: [
        { label: labels.pending, data: d.section.map((r) => r.pending), backgroundColor: blue },
        { label: labels.overdue, data: d.section.map((r) => r.overdue), backgroundColor: red },
      ],
    },
    options: { ...common, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });

  new Chart(document.getElementById("chart-overdue"), {
    type: "bar",
    data: {
      labels: d.overdue.map((r) => r.post),
      datasets: [{ label: labels.overdue, data: d.overdue.map((r) => r.overdue), backgroundColor: red }],
    },
    options: { ...common, indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });

  const months = [...new Set(d.created.map((r) => r.month))].sort();
  const departments = [...new Set(d.created.map((r) => r.department))].sort();
  new Chart(document.getElementById("chart-created"), {
    type: "bar",
    data: {
      labels: months,
      datasets: departments.map((dept, i) => ({
        label: dept,
        backgroundColor: palette[i % palette.length],
        data: months.map((m) => (d.created.find((r) => r.month === m && r.department === dept) || {}).files || 0),
      })),
    },
    options: { ...common, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
  document.querySelector(".charts").dataset.ready = "1";
})();
