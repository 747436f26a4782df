/**
 * Writes the scaling plots of docs/performance.md as SVG (no dependencies, no network) from the JSON
 * lines of `bench/trainer-scaling.ts`: for each axis (sequence length, vocabulary size) one plot of
 * peak RSS and one of tokens/s, Tunekit against PyTorch.
 *
 *   npx tsx bench/plots/plot-scaling.ts scaling.jsonl docs/images
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Point {
  axis: 'sequence' | 'vocabulary';
  sequence: number;
  vocab_size: number;
  peak_rss_mb?: number;
  tokens_per_s?: number;
  torch?: { peak_rss_mb?: number; tokens_per_s?: number };
}

interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

/** A log-x line plot with two series, axes, ticks and a legend. */
export function linePlot(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const width = 560;
  const height = 340;
  const margin = { left: 70, right: 20, top: 40, bottom: 50 };
  const all = series.flatMap((line) => line.points);
  const xs = all.map(([x]) => Math.log2(x));
  const ys = all.map(([, y]) => y);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const yMax = Math.max(...ys) * 1.1 || 1;
  const sx = (x: number) =>
    margin.left + ((Math.log2(x) - xMin) / (xMax - xMin || 1)) * (width - margin.left - margin.right);
  const sy = (y: number) => height - margin.bottom - (y / yMax) * (height - margin.top - margin.bottom);
  const ticks = [...new Set(all.map(([x]) => x))].sort((a, b) => a - b);
  const yTicks = Array.from({ length: 5 }, (_, index) => (yMax * index) / 4);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12" role="img">`,
    `<title>${title}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${title}</text>`,
    `<line x1="${margin.left}" y1="${height - margin.bottom}" x2="${width - margin.right}" y2="${height - margin.bottom}" stroke="black"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${height - margin.bottom}" stroke="black"/>`,
    ...ticks.map(
      (x) =>
        `<text x="${sx(x)}" y="${height - margin.bottom + 16}" text-anchor="middle">${x >= 1000 ? `${Math.round(x / 1000)}k` : x}</text>`,
    ),
    ...yTicks.map(
      (y) =>
        `<text x="${margin.left - 6}" y="${sy(y) + 4}" text-anchor="end">${Math.round(y)}</text><line x1="${margin.left}" y1="${sy(y)}" x2="${width - margin.right}" y2="${sy(y)}" stroke="#ddd"/>`,
    ),
    `<text x="${width / 2}" y="${height - 12}" text-anchor="middle">${xLabel}</text>`,
    `<text x="16" y="${height / 2}" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">${yLabel}</text>`,
    ...series.flatMap((line, index) => [
      `<polyline fill="none" stroke="${line.color}" stroke-width="2" points="${line.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' ')}"/>`,
      ...line.points.map(([x, y]) => `<circle cx="${sx(x)}" cy="${sy(y)}" r="3" fill="${line.color}"/>`),
      `<rect x="${margin.left + 10}" y="${margin.top + 4 + index * 18}" width="12" height="12" fill="${line.color}"/>`,
      `<text x="${margin.left + 28}" y="${margin.top + 14 + index * 18}">${line.name}</text>`,
    ]),
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}

const [input, output] = process.argv.slice(2);
if (input && output) {
  const points = readFileSync(input, 'utf8')
    .split('\n')
    .filter((line) => line.includes('"trainer-scaling"'))
    .map((line) => JSON.parse(line) as Point);
  mkdirSync(output, { recursive: true });
  for (const axis of ['sequence', 'vocabulary'] as const) {
    const on = points.filter((point) => point.axis === axis);
    const x = (point: Point) => (axis === 'sequence' ? point.sequence : point.vocab_size);
    const label =
      axis === 'sequence' ? 'sequence length (tokens, vocabulary 32,000)' : 'vocabulary size (sequence 512)';
    const lines = (
      pick: (point: Point) => number | undefined,
      torch: (point: Point) => number | undefined,
    ) => [
      {
        name: 'Tunekit (onnxruntime)',
        color: '#1f77b4',
        points: on.flatMap((p) => (pick(p) ? [[x(p), pick(p) as number] as [number, number]] : [])),
      },
      {
        name: 'PyTorch (plain torch, HF modeling)',
        color: '#d62728',
        points: on.flatMap((p) => (torch(p) ? [[x(p), torch(p) as number] as [number, number]] : [])),
      },
    ];
    writeFileSync(
      join(output, `scaling-${axis}-memory.svg`),
      linePlot(
        `Peak RSS against ${axis}`,
        label,
        'peak RSS (MB)',
        lines(
          (p) => p.peak_rss_mb,
          (p) => p.torch?.peak_rss_mb,
        ),
      ),
    );
    writeFileSync(
      join(output, `scaling-${axis}-throughput.svg`),
      linePlot(
        `Training tokens/s against ${axis}`,
        label,
        'tokens/s',
        lines(
          (p) => p.tokens_per_s,
          (p) => p.torch?.tokens_per_s,
        ),
      ),
    );
  }
}
