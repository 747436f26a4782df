// Charts of the dashboard, drawn with uPlot (vendored as uplot.js, MIT; no CDN). Each chart is a
// <figure> holding uPlot's <canvas> and a caption; data are arrays of x values and y series.
import uPlot from './uplot.js';

/** Colours of the series, in order (readable on white, distinguishable for common colour blindness). */
const palette = ['#1f5fbf', '#d1495b', '#2e933c', '#edae49', '#6a4c93', '#00798c', '#8d6a9f', '#33658a'];

/**
 * A line chart: `series` is `[{ label, values }]` over shared `x` values (`null` leaves a gap);
 * `yFormat` formats the y-axis ticks.
 * Returns `{ figure, update(x, series) }`; `update` redraws with new data (live runs).
 */
export function lineChart({
  title,
  xLabel = 'step',
  yLabel,
  yFormat,
  x = [],
  series = [],
  width = 640,
  height = 260,
}) {
  const figure = document.createElement('figure');
  figure.className = 'chart';
  figure.dataset.chart = title;
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  const holder = document.createElement('div');
  figure.append(holder, caption);
  const options = (labels) => ({
    width,
    height,
    scales: { x: { time: false } },
    axes: [
      { label: xLabel },
      { label: yLabel, ...(yFormat ? { values: (_, ticks) => ticks.map(yFormat), size: 70 } : {}) },
    ],
    series: [
      { label: xLabel },
      ...labels.map((label, index) => ({
        label,
        stroke: palette[index % palette.length],
        width: 2,
        spanGaps: true,
      })),
    ],
  });
  let labels = series.map((line) => line.label);
  let plot = new uPlot(options(labels), [x, ...series.map((line) => line.values)], holder);
  return {
    figure,
    update(nextX, nextSeries) {
      const nextLabels = nextSeries.map((line) => line.label);
      const data = [nextX, ...nextSeries.map((line) => line.values)];
      if (nextLabels.join('\u0000') !== labels.join('\u0000')) {
        // Other series: a new plot (uPlot's series are fixed at creation).
        plot.destroy();
        labels = nextLabels;
        plot = new uPlot(options(labels), data, holder);
      } else {
        plot.setData(data);
      }
    },
    destroy() {
      plot.destroy();
    },
  };
}

/**
 * Aligns several runs on one x axis (the union of their steps, sorted) so that uPlot draws them on
 * one chart: `runs` is `[{ label, points: [{ x, y }] }]`.
 */
export function alignRuns(runs) {
  const steps = [...new Set(runs.flatMap((run) => run.points.map((point) => point.x)))].sort((a, b) => a - b);
  const index = new Map(steps.map((step, position) => [step, position]));
  const series = runs.map((run) => {
    const values = new Array(steps.length).fill(null);
    for (const point of run.points) values[index.get(point.x)] = point.y;
    return { label: run.label, values };
  });
  return { x: steps, series };
}

/**
 * A bar chart with error bars (per-variant means with confidence intervals, label counts, a length
 * histogram), drawn on uPlot's canvas with its bars path builder.
 */
export function barChart({ title, labels, values, lower, upper, yLabel, width = 640, height = 260 }) {
  const figure = document.createElement('figure');
  figure.className = 'chart';
  figure.dataset.chart = title;
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  const holder = document.createElement('div');
  figure.append(holder, caption);
  const x = labels.map((_, index) => index);
  // Bars start at zero; the y range also holds the interval ends (uPlot's auto range would not).
  const ends = [...values, ...(upper ?? []), ...(lower ?? [])].filter((value) => value != null);
  const top = Math.max(0, ...ends);
  const bottom = Math.min(0, ...ends);
  const margin = (top - bottom || 1) * 0.08;
  const labelEvery = Math.max(1, Math.ceil(labels.length / 8));
  const drawIntervals = (plot) => {
    if (!lower || !upper) return;
    const context = plot.ctx;
    context.save();
    context.strokeStyle = '#222';
    context.lineWidth = 2 * devicePixelRatio;
    for (let index = 0; index < x.length; index += 1) {
      if (lower[index] == null || upper[index] == null) continue;
      const left = plot.valToPos(index, 'x', true);
      const top = plot.valToPos(upper[index], 'y', true);
      const bottom = plot.valToPos(lower[index], 'y', true);
      context.beginPath();
      context.moveTo(left, top);
      context.lineTo(left, bottom);
      context.moveTo(left - 6, top);
      context.lineTo(left + 6, top);
      context.moveTo(left - 6, bottom);
      context.lineTo(left + 6, bottom);
      context.stroke();
    }
    context.restore();
  };
  const plot = new uPlot(
    {
      width,
      height,
      scales: {
        x: { time: false, range: [-0.5, labels.length - 0.5] },
        y: { range: [bottom < 0 ? bottom - margin : 0, top + margin] },
      },
      legend: { show: false },
      axes: [
        // Every label when they fit (about 8), else every k-th (a 20-bin histogram).
        {
          values: (_, ticks) => ticks.map((tick) => (tick % labelEvery === 0 ? (labels[tick] ?? '') : '')),
          splits: () => x,
        },
        { label: yLabel },
      ],
      series: [
        {},
        {
          label: yLabel,
          fill: 'rgba(31, 95, 191, 0.55)',
          stroke: palette[0],
          paths: uPlot.paths.bars({ size: [0.6, 80] }),
          points: { show: false },
        },
      ],
      hooks: { draw: [drawIntervals] },
    },
    [x, values],
    holder,
  );
  return { figure, destroy: () => plot.destroy() };
}
