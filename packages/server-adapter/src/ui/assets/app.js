// Tunekit web UI: log in, upload datasets, submit training jobs, follow them live (stop, resume),
// compare runs, models with their cards and evaluations, dataset statistics, A/B tests, feedback.
// Plain DOM code, no framework: each view is a function that fills <main> from the JSON API.
// Values from the server are always set as text (never as HTML); model cards go through markdown.js.
import { ApiError, logIn, logOut, request, serverSentEvents, session } from './api.js';
import { alignRuns, lineChart } from './charts.js';
import { element, field, formatDate, statusBadge, table } from './dom.js';
import { abTestsView, abTestView, datasetView, feedbackView, modelView } from './insight-views.js';

const main = document.getElementById('main');
const errorBox = document.getElementById('error');
const navigation = document.getElementById('navigation');
const finalStatuses = new Set(['succeeded', 'failed', 'cancelled']);

/** Aborted when the user leaves a view (stops its event stream). */
let viewController = new AbortController();

/** Shows an error (problem+json detail, code and failing fields) above the view. */
function showError(error) {
  errorBox.replaceChildren();
  if (!error) {
    errorBox.hidden = true;
    return;
  }
  errorBox.append(element('strong', {}, error instanceof ApiError ? 'Error: ' : 'Unexpected error: '));
  errorBox.append(error.message ?? String(error));
  const issues = error instanceof ApiError ? (error.problem.issues ?? []) : [];
  if (issues.length > 0) {
    errorBox.append(
      element(
        'ul',
        {},
        issues.map((issue) => element('li', {}, `${issue.path}: ${issue.message}`)),
      ),
    );
  }
  errorBox.hidden = false;
}

/** Runs an action; errors are shown, and a rejected token (401) leads back to the login form. */
async function attempt(action) {
  showError(undefined);
  try {
    return await action();
  } catch (error) {
    if (error?.name === 'AbortError') return undefined;
    if (error instanceof ApiError && error.status === 401 && session()) {
      logOut();
      await render();
    }
    showError(error);
    return undefined;
  }
}

/** Disables a form's button while its submission runs. */
function onSubmit(action) {
  return async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await attempt(() => action(new FormData(form), form));
    } finally {
      button.disabled = false;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Views

function loginView() {
  const form = element(
    'form',
    {
      'aria-label': 'Log in',
      onsubmit: onSubmit(async (data) => {
        await logIn(String(data.get('username')), String(data.get('password')));
        if (!location.hash || location.hash === '#/login') location.hash = '#/jobs';
        else await render();
      }),
    },
    field('Username', { name: 'username', autocomplete: 'username', required: true }),
    field('Password', {
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
    }),
    element('button', { type: 'submit' }, 'Log in'),
  );
  return [element('h2', {}, 'Log in'), form];
}

async function datasetsView() {
  const uploaded = element('p', { id: 'upload-result', role: 'status' });
  const form = element(
    'form',
    {
      'aria-label': 'Upload a dataset',
      onsubmit: onSubmit(async (data, target) => {
        const file = data.get('file');
        const query = new URLSearchParams({
          name: String(data.get('name')),
          kind: String(data.get('kind')),
          file_name: file.name,
        });
        const body = new FormData();
        body.append('file', file, file.name);
        const version = await request(`datasets?${query}`, { method: 'POST', body });
        uploaded.replaceChildren(
          `Uploaded ${version.name}: ${version.row_count} rows (version ${version.id}). `,
          element('a', { href: `#/train?dataset=${encodeURIComponent(version.id)}` }, 'Train on it'),
        );
        target.reset();
        await refresh();
      }),
    },
    field('Name', { name: 'name', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*' }),
    field('Kind', { name: 'kind' }, 'select'),
    field('File (JSONL, JSON, CSV or Parquet)', { name: 'file', type: 'file', required: true }),
    element('button', { type: 'submit' }, 'Upload'),
  );
  const kinds = form.querySelector('select');
  for (const kind of ['training', 'validation', 'test'])
    kinds.append(element('option', { value: kind }, kind));
  const list = element('div');
  async function refresh() {
    const page = await request('datasets?limit=100');
    list.replaceChildren(
      table(
        'Datasets',
        ['Name', 'Kind', 'Versions', 'Latest version', 'Updated'],
        page.items.map((dataset) => [
          element('a', { href: `#/datasets/${encodeURIComponent(dataset.name)}` }, dataset.name),
          dataset.kind,
          dataset.version_count,
          dataset.latest_version_id
            ? element(
                'a',
                { href: `#/train?dataset=${encodeURIComponent(dataset.latest_version_id)}` },
                dataset.latest_version_id,
              )
            : '',
          formatDate(dataset.updated_at),
        ]),
      ),
    );
  }
  await refresh();
  return [element('h2', {}, 'Datasets'), element('h3', {}, 'Upload'), form, uploaded, list];
}

async function trainView(parameters) {
  // Served base models: from /model/info when the server has a default model, else typed by hand.
  const served = await request('model/info').then(
    (info) => info.served_models,
    () => [],
  );
  // Training datasets, and feedback exports (preference pairs train with DPO).
  const [training, feedback] = await Promise.all([
    request('datasets?kind=training&limit=100'),
    request('datasets?kind=feedback&limit=100'),
  ]);
  const versionOptions = [...training.items, ...feedback.items]
    .filter((dataset) => dataset.latest_version_id)
    .map((dataset) =>
      element(
        'option',
        { value: dataset.latest_version_id },
        dataset.kind === 'feedback' ? `${dataset.name} (feedback)` : dataset.name,
      ),
    );
  const number = (name, label, attributes) => field(label, { name, type: 'number', ...attributes });
  const form = element(
    'form',
    {
      'aria-label': 'Submit a training job',
      onsubmit: onSubmit(async (data) => {
        const hyperparameters = {};
        for (const name of ['max_steps', 'batch_size', 'max_length']) {
          if (data.get(name)) hyperparameters[name] = Number.parseInt(String(data.get(name)), 10);
        }
        if (data.get('learning_rate')) hyperparameters.learning_rate = Number(data.get('learning_rate'));
        const body = {
          base_model: String(data.get('base_model')),
          dataset_version_id: String(data.get('dataset_version_id')),
          output_name: String(data.get('output_name')),
          hyperparameters,
        };
        const rank = Number.parseInt(String(data.get('lora_r') ?? ''), 10);
        if (rank > 0) body.lora = { r: rank, alpha: rank * 2 };
        if (data.get('register_as')) body.register_as = { name: String(data.get('register_as')) };
        // A β turns the run into DPO on { prompt, chosen, rejected } rows (e.g. a feedback export).
        if (data.get('dpo_beta')) body.dpo = { beta: Number(data.get('dpo_beta')) };
        const accepted = await request('train', { method: 'POST', json: body });
        location.hash = `#/jobs/${encodeURIComponent(accepted.job_id)}`;
      }),
    },
    served.length > 0
      ? field('Base model', { name: 'base_model', required: true }, 'select')
      : field('Base model (served model id)', { name: 'base_model', required: true }),
    field('Dataset version', { name: 'dataset_version_id', required: true }, 'select'),
    field('Output name', { name: 'output_name', required: true, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*' }),
    number('max_steps', 'Max steps', { min: 1, value: 20 }),
    number('batch_size', 'Batch size', { min: 1, value: 4 }),
    number('learning_rate', 'Learning rate', { min: 0, max: 1, step: 'any', value: 0.0005 }),
    number('max_length', 'Max length (tokens)', { min: 2, value: 128 }),
    number('lora_r', 'LoRA rank (0: all weights)', { min: 0, value: 8 }),
    field('Register as (optional model name)', { name: 'register_as' }),
    number('dpo_beta', 'DPO β (optional: preference pairs)', { min: 0, step: 'any' }),
    element('button', { type: 'submit' }, 'Start training'),
  );
  const baseModel = form.querySelector('[name="base_model"]');
  for (const id of served) baseModel.append(element('option', { value: id }, id));
  const versionSelect = form.querySelector('[name="dataset_version_id"]');
  versionSelect.append(...versionOptions);
  const wanted = parameters.get('dataset');
  if (wanted) {
    if (!versionOptions.some((option) => option.value === wanted)) {
      versionSelect.append(element('option', { value: wanted }, wanted));
    }
    versionSelect.value = wanted;
  }
  return [element('h2', {}, 'Train a model'), form];
}

async function jobsView(parameters) {
  const status = parameters.get('status') ?? '';
  const page = await request(`train?limit=100${status ? `&status=${encodeURIComponent(status)}` : ''}`);
  const selected = new Set((parameters.get('compare') ?? '').split(',').filter(Boolean));
  const rows = page.items.map((job) => [
    element('input', {
      type: 'checkbox',
      name: 'compare',
      value: job.id,
      'aria-label': `Compare ${job.id}`,
      checked: selected.has(job.id),
    }),
    element('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, job.id),
    statusBadge(job.status),
    `${Math.round((job.progress ?? 0) * 100)} %`,
    job.progress_message ?? '',
    formatDate(job.created_at),
  ]);
  const filter = element(
    'select',
    {
      name: 'status',
      'aria-label': 'Status filter',
      onchange: (event) => {
        location.hash = event.target.value ? `#/jobs?status=${event.target.value}` : '#/jobs';
      },
    },
    ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'].map((value) =>
      element('option', { value, selected: value === status }, value || 'all statuses'),
    ),
  );
  const compareButton = element(
    'button',
    {
      type: 'button',
      onclick: () => {
        const ids = [...main.querySelectorAll('input[name="compare"]:checked')].map((box) => box.value);
        const query = new URLSearchParams({ ...(status ? { status } : {}), compare: ids.join(',') });
        location.hash = `#/jobs?${query}`;
      },
    },
    'Compare selected',
  );
  const content = [
    element('h2', {}, 'Training runs'),
    element('p', {}, element('label', {}, 'Show ', filter), ' ', compareButton),
    rows.length > 0
      ? table('Training jobs', ['Compare', 'Job', 'Status', 'Progress', 'Message', 'Created'], rows)
      : element('p', {}, 'No jobs yet.'),
  ];
  if (selected.size > 0) {
    // Compare: each selected run's training loss on one chart (MLflow/W&B style).
    const runs = await Promise.all(
      [...selected].map(async (id) => {
        const curves = await request(`train/${encodeURIComponent(id)}/metrics`);
        return {
          label: id.slice(0, 8),
          points: curves.steps.map((point) => ({ x: point.step, y: point.loss })),
        };
      }),
    );
    const { x, series } = alignRuns(runs);
    content.push(
      element('h3', {}, 'Comparison'),
      lineChart({ title: 'Training loss by run', yLabel: 'loss', x, series }).figure,
    );
  }
  return content;
}

async function jobView(id) {
  const signal = viewController.signal;
  const job = await request(`train/${encodeURIComponent(id)}`, { signal });
  const status = element('dd', { id: 'job-status' });
  const message = element('dd', { id: 'job-message' });
  const loss = element('dd', { id: 'job-loss' });
  const bar = element('progress', { id: 'job-progress', max: 1, value: 0, 'aria-label': 'Progress' });
  const percent = element('dd', { id: 'job-percent' });
  const log = element('ol', { class: 'events', 'aria-label': 'Events' });
  const stop = element(
    'button',
    {
      type: 'button',
      class: 'danger',
      onclick: () =>
        attempt(async () => {
          stop.disabled = true;
          update(await request(`train/${encodeURIComponent(id)}/stop`, { method: 'POST' }));
        }),
    },
    'Stop',
  );
  // An interrupted run (stopped, failed, or left by a process that stopped) continues from its
  // last checkpoint: POST /train/{id}/resume re-queues this job, then the view follows it again.
  const resume = element(
    'button',
    {
      type: 'button',
      id: 'job-resume',
      onclick: () =>
        attempt(async () => {
          resume.disabled = true;
          update(await request(`train/${encodeURIComponent(id)}/resume`, { method: 'POST' }));
          message.textContent = 'resumed from the last checkpoint';
          follow();
        }),
    },
    'Resume',
  );

  let lastStatus = job.status;
  /** Applies a job snapshot (from GET /train/{id}, the stop answer or a `status` event). */
  function update(snapshot) {
    lastStatus = snapshot.status;
    status.replaceChildren(statusBadge(snapshot.status));
    setProgress(snapshot.progress ?? 0, snapshot.progress_message);
    if (snapshot.error)
      message.textContent = `${snapshot.error.code ?? ''} ${snapshot.error.message ?? ''}`.trim();
    stop.disabled = finalStatuses.has(snapshot.status);
    resume.hidden = !(snapshot.status === 'cancelled' || snapshot.status === 'failed');
    resume.disabled = false;
  }
  function setProgress(value, text) {
    bar.value = value;
    percent.textContent = `${Math.round(value * 100)} %`;
    if (text) message.textContent = text;
  }

  update(job);
  // Charts: the curves so far (GET /train/{id}/metrics), then each step and evaluation as it comes.
  const curves = await request(`train/${encodeURIComponent(id)}/metrics`, { signal });
  const points = curves.steps;
  const evaluationLoss = (metrics) => metrics.validation_loss ?? metrics.validationLoss ?? metrics.loss;
  const evaluations = curves.evaluations.map((evaluation) => ({
    step: evaluation.step,
    loss: evaluationLoss(evaluation.metrics),
  }));
  const lossChart = lineChart({ title: 'Loss', yLabel: 'loss' });
  const rateChart = lineChart({
    title: 'Learning rate',
    yLabel: 'learning rate',
    yFormat: (value) => value.toExponential(2),
  });
  const speedChart = lineChart({ title: 'Tokens per second', yLabel: 'tokens/s' });
  function redraw() {
    const training = {
      label: 'training loss',
      points: points.map((point) => ({ x: point.step, y: point.loss })),
    };
    const validation = {
      label: 'eval loss',
      points: evaluations.map((point) => ({ x: point.step, y: point.loss })),
    };
    const aligned = alignRuns([training, validation]);
    lossChart.update(aligned.x, aligned.series);
    const steps = points.map((point) => point.step);
    rateChart.update(steps, [{ label: 'learning rate', values: points.map((point) => point.learning_rate) }]);
    speedChart.update(steps, [
      { label: 'tokens/s', values: points.map((point) => point.tokens_per_second ?? null) },
    ]);
  }
  redraw();
  // Live steps can come by the hundred per second: redraw at most twice a second.
  let redrawPending = false;
  function scheduleRedraw() {
    if (redrawPending) return;
    redrawPending = true;
    setTimeout(() => {
      redrawPending = false;
      if (!signal.aborted) redraw();
    }, 500);
  }
  // Follow the job live until it ends (or the user leaves this view). The server ends the stream
  // after the final status; a stream that ends earlier (a restart) is followed again after a pause.
  const follow = () =>
    void attempt(async () => {
      while (!finalStatuses.has(lastStatus) && !signal.aborted) {
        for await (const { event, data } of serverSentEvents(
          `train/${encodeURIComponent(id)}/events`,
          signal,
        )) {
          if (event === 'status') update(data);
          else if (event === 'progress') setProgress(data.progress, data.message);
          else if (event === 'step') {
            loss.textContent = `${data.loss.toFixed(4)} at step ${data.step}`;
            points.push({
              step: data.step,
              loss: data.loss,
              learning_rate: data.learning_rate,
              tokens_per_second: data.tokens_per_second,
            });
            scheduleRedraw();
          } else if (event === 'evaluated') {
            evaluations.push({ step: data.step, loss: evaluationLoss(data.metrics) });
            scheduleRedraw();
          } else if (event === 'failed') message.textContent = data.error;
          else if (event === 'error') throw new ApiError(data.status ?? 500, data);
          if (event !== 'status') {
            log.prepend(element('li', {}, `${event} ${JSON.stringify(data)}`));
            // The newest 200 events: a long run would otherwise grow the page without bound.
            while (log.childElementCount > 200) log.lastElementChild.remove();
          }
        }
        if (!finalStatuses.has(lastStatus)) await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    });
  follow();

  return [
    element('h2', {}, `Job ${id}`),
    element(
      'dl',
      {},
      element('dt', {}, 'Status'),
      status,
      element('dt', {}, 'Progress'),
      percent,
      element('dt', {}, 'Message'),
      message,
      element('dt', {}, 'Loss'),
      loss,
      element('dt', {}, 'Created'),
      element('dd', {}, formatDate(job.created_at)),
    ),
    bar,
    element('p', {}, stop, ' ', resume),
    element(
      'section',
      { class: 'charts', 'aria-label': 'Charts' },
      lossChart.figure,
      rateChart.figure,
      speedChart.figure,
    ),
    element('h3', {}, 'Live events'),
    log,
  ];
}

async function modelsView() {
  const page = await request('models?limit=100');
  const rows = page.items.map((model) => [
    element('a', { href: `#/models/${encodeURIComponent(model.name)}` }, model.name),
    model.version_number,
    element('span', { 'data-stage': model.stage }, model.stage),
    model.base_model ?? '',
    model.task ?? '',
    formatDate(model.created_at),
  ]);
  return [
    element('h2', {}, 'Models'),
    rows.length > 0
      ? table('Registered models', ['Name', 'Version', 'Stage', 'Base model', 'Task', 'Created'], rows)
      : element('p', {}, 'No registered models yet.'),
  ];
}

// ---------------------------------------------------------------------------------------------
// Routing: `#/section[/id][?query]`.

async function render() {
  viewController.abort();
  const controller = new AbortController();
  viewController = controller;
  const current = session();
  navigation.hidden = !current;
  document.getElementById('who').textContent = current ? `Signed in as ${current.username}` : '';
  const [path, search = ''] = location.hash.replace(/^#/, '').split('?');
  const [, section = 'jobs', id] = path.split('/');
  for (const link of navigation.querySelectorAll('a')) {
    link.toggleAttribute('aria-current', link.getAttribute('href') === `#/${section}`);
    if (link.hasAttribute('aria-current')) link.setAttribute('aria-current', 'page');
  }
  if (!current) {
    main.replaceChildren(...loginView());
    return;
  }
  const parameters = new URLSearchParams(search);
  const views = {
    datasets: () => (id ? datasetView(decodeURIComponent(id), parameters) : datasetsView()),
    train: () => trainView(parameters),
    jobs: () => (id ? jobView(decodeURIComponent(id)) : jobsView(parameters)),
    models: () => (id ? modelView(decodeURIComponent(id), parameters) : modelsView()),
    'ab-tests': () => (id ? abTestView(decodeURIComponent(id)) : abTestsView()),
    feedback: () => feedbackView({ onSubmit }),
  };
  const view = views[section] ?? views.jobs;
  const content = await attempt(view);
  // A later navigation started while this view loaded: leave <main> to it.
  if (controller.signal.aborted) return;
  if (content) main.replaceChildren(...content);
  else main.replaceChildren();
}

document.getElementById('logout').addEventListener('click', () => {
  logOut();
  // Changing the hash renders (hashchange); on the login hash already, render directly.
  if (location.hash === '#/login') void render();
  else location.hash = '#/login';
});
window.addEventListener('hashchange', () => void render());
void render();
