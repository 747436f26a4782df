import hn from 'hnswlib-node';

const { HierarchicalNSW } = hn;
const D = 384,
  N = Number(process.argv[2] || 20000),
  efc = Number(process.argv[3] || 200),
  M = Number(process.argv[4] || 16);
let s = 1;
const r = () => {
  s = (s * 1103515245 + 12345) % 2147483648;
  return s / 2147483648;
};
const g = () => {
  const u = r() || 1e-9,
    v = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
};
const C = Math.max(1, N / 100);
const centers = [];
for (let c = 0; c < C; c++) {
  const v = new Float32Array(D);
  for (let i = 0; i < D; i++) v[i] = g();
  centers.push(v);
}
const idx = new HierarchicalNSW('cosine', D);
idx.initIndex({ maxElements: N, m: M, efConstruction: efc });
const pts = [];
for (let n = 0; n < N; n++) {
  const c = centers[Math.floor(r() * C)];
  const p = new Array(D);
  for (let i = 0; i < D; i++) p[i] = c[i] + 0.8 * g();
  pts.push(p);
}
const t = performance.now();
for (let n = 0; n < N; n++) idx.addPoint(pts[n], n);
const dt = (performance.now() - t) / 1000;
console.log(
  N,
  'efc',
  efc,
  'M',
  M,
  'build s',
  dt.toFixed(1),
  'per-item ms',
  ((dt * 1000) / N).toFixed(3),
  process.cpuUsage().user / 1e6,
);
