// The 12-month chart of income against costs, one per currency, drawn by Chart.js (only the
// parts registered here are bundled). The same figures are in a table beside it, which is what
// screen readers and the browser test read.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
} from "chart.js";
import { amount, major, month } from "./format";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface Series {
  currency: string;
  months: string[]; // YYYY-MM
  income: string[]; // minor units
  costs: string[]; // minor units
}

// Colours with at least 3:1 contrast against white (WCAG 1.4.11, graphics).
const INCOME = "#1d6b39";
const COSTS = "#b3261e";

export function incomeChart(canvas: HTMLCanvasElement, s: Series): Chart {
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: s.months.map(month),
      datasets: [
        { label: "Income", data: s.income.map((v) => major(s.currency, v)), backgroundColor: INCOME },
        { label: "Costs", data: s.costs.map((v) => major(s.currency, v)), backgroundColor: COSTS },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { position: "bottom", labels: { color: "#1a1a1a" } },
        tooltip: {
          callbacks: {
            // Exact figures from minor units, not the float the bars are drawn from.
            label: (ctx) => {
              const src = ctx.datasetIndex === 0 ? s.income : s.costs;
              return `${ctx.dataset.label}: ${amount(s.currency, src[ctx.dataIndex] ?? "0")}`;
            },
          },
        },
      },
      scales: {
        x: { ticks: { color: "#1a1a1a" } },
        y: {
          beginAtZero: true,
          ticks: {
            color: "#1a1a1a",
            callback: (v) =>
              new Intl.NumberFormat(undefined, { style: "currency", currency: s.currency, notation: "compact" }).format(
                Number(v),
              ),
          },
        },
      },
    },
  });
}
