// Views that read results rather than drive training: a dataset's statistics, a model's versions
// with their evaluations and rendered cards, A/B tests with per-variant confidence intervals and
// the winner (computed by core's statistics on the server), and feedback.
import { request } from './api.js';
import { barChart, lineChart } from './charts.js';
import { definitions, element, field, formatDate, formatNumber, table } from './dom.js';
import { renderMarkdown } from './markdown.js';

const encode = encodeURIComponent;

/** A value of a wire object under its snake_case name (the wire) or its camelCase one. */
function read(object, snake) {
  if (!object) return undefined;
  if (snake in object) return object[snake];
  return object[snake.replace(/_([a-z])/g, (_, letter) => letter.toUpperCase())];
}

// ---------------------------------------------------------------------------------------------
// Datasets: `#/datasets/<name>?version=<id>`

/** Statistics of one version of a dataset: summary, length histogram and label counts. */
export async function datasetView(name, parameters) {
  const { items: versions } = await request(`datasets/${encode(name)}/versions`);
  const newestFirst = [...versions].sort((a, b) =>
    read(b, 'created_at').localeCompare(read(a, 'created_at')),
  );
  const versionId = parameters.get('version') ?? newestFirst[0]?.id;
  const content = [element('h2', {}, `Dataset ${name}`)];
  content.push(
    table(
      'Versions',
      ['Version', 'Kind', 'Rows', 'Dropped rows', 'Created'],
      newestFirst.map((version) => [
        version.id === versionId
          ? element('strong', {}, version.id)
          : element('a', { href: `#/datasets/${encode(name)}?version=${encode(version.id)}` }, version.id),
        version.kind,
        read(version, 'row_count'),
        read(version, 'dropped_row_count'),
        formatDate(read(version, 'created_at')),
      ]),
    ),
  );
  if (!versionId) return content;
  const stats = await request(`dataset-versions/${encode(versionId)}/stats`);
  const characters = stats.characters;
  const duplicates = stats.duplicates ?? {};
  content.push(
    element('h3', {}, `Statistics of ${versionId}`),
    definitions(
      [
        ['Rows', read(stats, 'row_count')],
        ['Row format', read(stats, 'row_format')],
        ['Size', `${stats.bytes} bytes`],
        [
          'Length (characters)',
          `min ${characters.min}, median ${formatNumber(characters.percentiles?.p50)}, mean ${formatNumber(characters.mean)}, max ${characters.max}`,
        ],
        ['Duplicate rows', duplicates.rows ?? 0],
        ['Duplicate inputs', read(stats, 'duplicate_inputs') ?? 0],
        ['Near-empty rows', read(stats, 'near_empty_rows') ?? 0],
      ],
      { id: 'dataset-stats' },
    ),
  );
  const charts = [];
  const histogram = characters.histogram ?? [];
  if (histogram.length > 0) {
    charts.push(
      barChart({
        title: 'Length histogram (characters)',
        labels: histogram.map((bin) => `${Math.round(bin.lower)}–${Math.round(bin.upper)}`),
        values: histogram.map((bin) => bin.count),
        yLabel: 'rows',
      }).figure,
    );
  }
  const labels = Object.entries(stats.labels ?? {}).sort((a, b) => b[1] - a[1]);
  if (labels.length > 0) {
    charts.push(
      barChart({
        title: 'Label counts',
        labels: labels.map(([label]) => label),
        values: labels.map(([, count]) => count),
        yLabel: 'rows',
      }).figure,
    );
    content.push(
      table(
        'Labels',
        ['Label', 'Rows'],
        labels.map(([label, count]) => [label, count]),
      ),
    );
  }
  content.push(element('section', { class: 'charts', 'aria-label': 'Charts' }, charts));
  return content;
}

// ---------------------------------------------------------------------------------------------
// Models: `#/models/<name>?version=<id>&metric=<name>`

/** The latest evaluation of each version that has `metric`, as bars with their bootstrap intervals. */
function evaluationBars(versions, evaluations, metric) {
  const latest = new Map();
  for (const evaluation of evaluations) {
    if (evaluation.metrics[metric]?.value != null) latest.set(read(evaluation, 'version_id'), evaluation);
  }
  const rows = versions
    .filter((version) => latest.has(version.id))
    .map((version) => ({ version, value: latest.get(version.id).metrics[metric] }));
  return {
    labels: rows.map((row) => `v${read(row.version, 'version_number')}`),
    values: rows.map((row) => row.value.value),
    lower: rows.map((row) => row.value.lower ?? null),
    upper: rows.map((row) => row.value.upper ?? null),
  };
}

/** A registered model: its versions, its evaluation results over versions, and a rendered card. */
export async function modelView(name, parameters) {
  const history = await request(`models/${encode(name)}/evaluations`);
  const versions = history.versions;
  const selectedId = parameters.get('version') ?? versions.at(-1)?.id;
  const evaluationMetrics = [
    ...new Set(history.evaluations.flatMap((evaluation) => Object.keys(evaluation.metrics))),
  ];
  const metric = parameters.get('metric') ?? evaluationMetrics[0];
  const link = (changes) => {
    const query = new URLSearchParams({
      version: selectedId ?? '',
      ...(metric ? { metric } : {}),
      ...changes,
    });
    return `#/models/${encode(name)}?${query}`;
  };
  const content = [
    element('h2', {}, `Model ${name}`),
    table(
      'Versions',
      ['Version', 'Stage', 'Registered metrics', 'Evaluations', 'Created'],
      [...versions].reverse().map((version) => [
        version.id === selectedId
          ? element('strong', {}, version.id)
          : element('a', { href: link({ version: version.id }) }, version.id),
        element('span', { 'data-stage': version.stage }, version.stage),
        Object.entries(version.metrics)
          .map(([key, value]) => `${key} ${formatNumber(value)}`)
          .join(', '),
        history.evaluations.filter((evaluation) => read(evaluation, 'version_id') === version.id).length,
        formatDate(read(version, 'created_at')),
      ]),
    ),
    element('h3', {}, 'Evaluation results over versions'),
  ];
  if (metric) {
    const picker = element(
      'select',
      {
        name: 'metric',
        'aria-label': 'Metric',
        onchange: (event) => {
          location.hash = link({ metric: event.target.value });
        },
      },
      evaluationMetrics.map((name) => element('option', { value: name, selected: name === metric }, name)),
    );
    const bars = evaluationBars(versions, history.evaluations, metric);
    content.push(
      element(
        'p',
        {},
        element('label', {}, 'Metric ', picker),
        ' (latest evaluation of each version, with its bootstrap confidence interval)',
      ),
      barChart({ title: 'Evaluation by version', yLabel: metric, ...bars }).figure,
      table(
        'Evaluations',
        ['Evaluation', 'Version', 'Dataset', 'Samples', metric, 'Interval', 'Created'],
        [...history.evaluations].reverse().map((evaluation) => {
          const value = evaluation.metrics[metric];
          return [
            evaluation.id,
            read(evaluation, 'version_id'),
            read(evaluation, 'dataset_version_id') ?? 'inline rows',
            read(evaluation, 'sample_count'),
            formatNumber(value?.value),
            value?.lower != null ? `${formatNumber(value.lower)} – ${formatNumber(value.upper)}` : '',
            formatDate(read(evaluation, 'created_at')),
          ];
        }),
      ),
    );
  } else {
    // No stored evaluation yet: the metrics registered with each version (training results).
    const keys = [...new Set(versions.flatMap((version) => Object.keys(version.metrics)))];
    if (keys.length > 0) {
      content.push(
        lineChart({
          title: 'Registered metrics by version',
          xLabel: 'version',
          yLabel: 'value',
          x: versions.map((version) => read(version, 'version_number')),
          series: keys.map((key) => ({
            label: key,
            values: versions.map((version) => version.metrics[key] ?? null),
          })),
        }).figure,
      );
    }
    content.push(
      element('p', {}, 'No stored evaluation of this model yet (tunekit eval or POST /evaluate/{model_id}).'),
    );
  }
  if (selectedId) {
    const readme = await request(`models/${encode(selectedId)}/readme`);
    content.push(
      element('h3', {}, `Model card of ${selectedId}`),
      element(
        'article',
        { class: 'model-card', 'aria-label': 'Model card' },
        renderMarkdown(readme.markdown),
      ),
    );
  }
  return content;
}

// ---------------------------------------------------------------------------------------------
// A/B tests: `#/ab-tests`, `#/ab-tests/<id>`

export async function abTestsView() {
  const page = await request('ab-tests?limit=100');
  const rows = page.items.map((test) => [
    element('a', { href: `#/ab-tests/${encode(test.id)}` }, test.name),
    test.status,
    test.variants.map((variant) => variant.name).join(' vs '),
    read(test, 'success_metric')?.name ?? '',
    test.winner ?? '',
    formatDate(read(test, 'created_at')),
  ]);
  return [
    element('h2', {}, 'A/B tests'),
    rows.length > 0
      ? table('A/B tests', ['Test', 'Status', 'Variants', 'Metric', 'Winner', 'Created'], rows)
      : element('p', {}, 'No A/B tests yet (POST /ab-tests).'),
  ];
}

const reasons = {
  'insufficient-samples': 'not enough samples yet',
  'sample-ratio-mismatch': 'the traffic split is broken (sample ratio mismatch): no winner is declared',
  significant: 'significant',
  'not-significant': 'no significant difference',
};

/** One A/B test: per-variant means with confidence intervals, the tests against control, the winner. */
export async function abTestView(id) {
  const [test, results] = await Promise.all([
    request(`ab-tests/${encode(id)}`),
    request(`ab-tests/${encode(id)}/results`),
  ]);
  const variants = results.variants;
  const metric = read(results, 'metric') ?? read(test, 'success_metric');
  const level = Math.round((1 - results.alpha) * 100);
  const winner = results.winner;
  const verdict = winner
    ? element(
        'p',
        { id: 'ab-winner', class: 'winner' },
        element('strong', {}, `Winner: ${winner}`),
        ` (${reasons[results.reason]})`,
      )
    : element('p', { id: 'ab-winner' }, `No winner: ${reasons[results.reason] ?? results.reason}`);
  return [
    element('h2', {}, `A/B test ${test.name}`),
    definitions([
      ['Status', test.status],
      ['Metric', `${metric?.name ?? ''} (${metric?.kind ?? ''}, ${metric?.direction ?? 'increase'})`],
      ['Test', `${results.test}, intervals ${read(results, 'interval_method')}, α ${results.alpha}`],
      ['Sample ratio', read(results, 'sample_ratio')?.flagged ? 'mismatch' : 'ok'],
    ]),
    verdict,
    barChart({
      title: `Mean by variant (${level} % confidence interval)`,
      labels: variants.map((variant) => variant.name),
      values: variants.map((variant) => variant.mean),
      lower: variants.map((variant) => variant.interval?.lower ?? null),
      upper: variants.map((variant) => variant.interval?.upper ?? null),
      yLabel: metric?.name ?? 'mean',
    }).figure,
    table(
      'Variants',
      ['Variant', 'Model', 'Units', 'Mean', `${level} % interval`, 'Lift', 'p-value', 'Significant'],
      variants.map((variant) => [
        variant.name === winner ? element('strong', {}, variant.name) : variant.name,
        read(variant, 'model_id'),
        variant.n,
        formatNumber(variant.mean),
        variant.interval
          ? `${formatNumber(variant.interval.lower)} – ${formatNumber(variant.interval.upper)}`
          : '',
        variant.lift == null ? '' : `${formatNumber(variant.lift * 100, 3)} %`,
        formatNumber(read(variant, 'p_value'), 3),
        variant.significant ? 'yes' : '',
      ]),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Feedback: `#/feedback`

/** Feedback: summary, rating distribution, the latest records, and a form to record one. */
export async function feedbackView({ onSubmit }) {
  const [stats, page] = await Promise.all([request('feedback/stats'), request('feedback?limit=50')]);
  const distribution = stats.distribution ?? {};
  const form = element(
    'form',
    {
      'aria-label': 'Record feedback',
      onsubmit: onSubmit(async (data, target) => {
        const body = {
          model_id: String(data.get('model_id')),
          input: String(data.get('input') ?? ''),
          output: String(data.get('output') ?? ''),
        };
        if (data.get('rating')) body.rating = Number(data.get('rating'));
        if (data.get('corrected_text')) body.corrected_text = String(data.get('corrected_text'));
        await request('feedback', { method: 'POST', json: body });
        target.reset();
        location.hash = `#/feedback?recorded=${Date.now()}`;
      }),
    },
    field('Model', { name: 'model_id', required: true }),
    field('Input', { name: 'input' }, 'textarea'),
    field('Output', { name: 'output', required: true }, 'textarea'),
    field('Rating (1–5)', { name: 'rating', type: 'number', min: 1, max: 5 }),
    field('Correction', { name: 'corrected_text' }, 'textarea'),
    element('button', { type: 'submit' }, 'Record feedback'),
  );
  return [
    element('h2', {}, 'Feedback'),
    definitions(
      [
        ['Feedback', stats.count],
        ['Ratings', read(stats, 'rating_count')],
        ['Average rating', formatNumber(read(stats, 'average_rating'), 3)],
        [
          'Corrections',
          `${read(stats, 'correction_count')} (${formatNumber((read(stats, 'correction_rate') ?? 0) * 100, 3)} %)`,
        ],
      ],
      { id: 'feedback-stats' },
    ),
    barChart({
      title: 'Ratings',
      labels: ['1', '2', '3', '4', '5'],
      values: ['1', '2', '3', '4', '5'].map((rating) => distribution[rating] ?? 0),
      yLabel: 'feedback',
    }).figure,
    page.items.length > 0
      ? table(
          'Latest feedback',
          ['Model', 'Rating', 'Output', 'Correction', 'User', 'Created'],
          page.items.map((item) => [
            read(item, 'model_id'),
            item.rating ?? '',
            item.output,
            read(item, 'corrected_text') ?? '',
            read(item, 'user_id'),
            formatDate(read(item, 'created_at')),
          ]),
        )
      : element('p', {}, 'No feedback yet.'),
    element('h3', {}, 'Record feedback'),
    form,
  ];
}
