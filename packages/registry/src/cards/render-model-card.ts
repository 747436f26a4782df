import type { ModelCard } from '@tunekit/core';
import { stringify } from 'yaml';

/** The Hugging Face front matter of a card (keys as the Hub reads them; empty fields left out). */
export function modelCardFrontMatter(card: ModelCard): Record<string, unknown> {
  const matter: Record<string, unknown> = {};
  const put = (key: string, value: unknown) => {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) return;
    matter[key] = value;
  };
  put('language', card.language);
  put('license', card.license);
  put('library_name', card.libraryName);
  put('tags', card.tags);
  put('datasets', card.datasets);
  put('metrics', card.metricNames);
  put('base_model', card.baseModel);
  put('base_model_relation', card.baseModel ? card.baseModelRelation : undefined);
  put('pipeline_tag', card.pipelineTag);
  if (card.results.length > 0) {
    matter['model-index'] = [{ name: card.name, results: card.results }];
  }
  return matter;
}

const cell = (value: unknown) =>
  (typeof value === 'string' ? value : JSON.stringify(value)).replaceAll('|', '\\|').replaceAll('\n', ' ');

function formatMetric(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

/**
 * Renders a card as a Hugging Face-style `README.md`: YAML front matter (`language`, `license`,
 * `library_name`, `tags`, `datasets`, `metrics`, `base_model`, `base_model_relation`, `pipeline_tag`,
 * `model-index`), then the sections Model Details, Uses, Bias, Risks, and Limitations, Training
 * Details, Evaluation and How to Get Started with the Model. It can be published to the Hub as is.
 */
export function renderModelCard(card: ModelCard): string {
  const matter = modelCardFrontMatter(card);
  const lines: string[] = [];
  lines.push('---', stringify(matter, { lineWidth: 0 }).trimEnd(), '---', '');
  lines.push(`# ${card.name} (version ${card.versionNumber})`, '');
  if (card.description.trim().length > 0) lines.push(card.description.trim(), '');

  lines.push('## Model Details', '', '### Model Description', '');
  const details: Array<[string, string | undefined]> = [
    ['Model version', `\`${card.id}\` (stage: ${card.stage})`],
    ['Task', card.pipelineTag],
    ['Language(s)', card.language.length > 0 ? card.language.join(', ') : undefined],
    ['License', card.license],
    [
      'Finetuned from',
      card.baseModel
        ? `${card.baseModel}${card.baseModelRelation ? ` (${card.baseModelRelation})` : ''}`
        : undefined,
    ],
    ['Library', card.libraryName],
    ['Artifacts', `\`${card.artifactUri}\``],
    ['Training job', card.trainingJobId ? `\`${card.trainingJobId}\`` : undefined],
    ['Dataset version', card.datasetVersionId ? `\`${card.datasetVersionId}\`` : undefined],
    ['Parent version', card.parentVersionId ? `\`${card.parentVersionId}\`` : undefined],
  ];
  for (const [label, value] of details) {
    if (value !== undefined) lines.push(`- **${label}:** ${value}`);
  }
  if (card.tags.length > 0) lines.push(`- **Tags:** ${card.tags.join(', ')}`);
  lines.push('');

  lines.push(
    '## Uses',
    '',
    '### Direct Use',
    '',
    card.intendedUse,
    '',
    '### Out-of-Scope Use',
    '',
    card.outOfScopeUse,
    '',
  );
  lines.push('## Bias, Risks, and Limitations', '', card.limitations, '');

  lines.push('## Training Details', '', '### Training Data', '');
  lines.push(
    card.datasets.length > 0 ? card.datasets.map((name) => `- ${name}`).join('\n') : 'Not recorded.',
    '',
  );
  lines.push('### Training Procedure', '', '#### Training Hyperparameters', '');
  const parameters = Object.entries(card.trainingParameters);
  if (parameters.length === 0) {
    lines.push('Not recorded.', '');
  } else {
    lines.push('| Parameter | Value |', '|---|---|');
    for (const [name, value] of parameters) lines.push(`| ${cell(name)} | ${cell(value)} |`);
    lines.push('');
  }

  lines.push('## Evaluation', '', '### Results', '');
  const metrics = Object.entries(card.metrics);
  if (metrics.length === 0) {
    lines.push('No metrics were recorded.', '');
  } else {
    const dataset = card.results[0]?.dataset.name;
    if (dataset !== undefined && dataset !== 'unspecified') lines.push(`Measured on ${dataset}.`, '');
    lines.push('| Metric | Value |', '|---|---|');
    for (const [name, value] of metrics) lines.push(`| ${cell(name)} | ${formatMetric(value)} |`);
    lines.push('');
  }

  lines.push('## How to Get Started with the Model', '', '```ts', card.gettingStarted, '```', '');
  return lines.join('\n');
}
