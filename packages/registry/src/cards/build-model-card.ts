import { type ModelCard, ModelCardSchema, type ModelVersion, parseOrThrow } from '@tunekit/core';

const defaultOutOfScope =
  'Uses outside the task and languages above, and any decision with legal or similarly significant effects on people without human review.';

function defaultIntendedUse(version: ModelVersion): string {
  const task = version.task ?? 'the task it was trained for';
  const languages = version.language.length > 0 ? ` in ${version.language.join(', ')}` : '';
  return `${task}${languages}, as fine-tuned from ${version.baseModel ?? 'its base model'} on the data listed under Training Details.`;
}

function defaultLimitations(version: ModelVersion): string {
  return [
    `The model inherits the biases and limitations of ${version.baseModel ?? 'its base model'} and of its training data.`,
    'Its metrics were measured on the evaluation data named below and may not transfer to other domains;',
    'evaluate it on your own data before relying on it.',
  ].join(' ');
}

/**
 * Builds the model card of a version from its registration (base model, language, task,
 * description, tags, training parameters, dataset, lineage) and its metrics; absent intended use and
 * limitations get generic texts. The result is validated with {@link ModelCardSchema}.
 */
export function buildModelCard(version: ModelVersion, generatedAt = new Date().toISOString()): ModelCard {
  const metricEntries = Object.entries(version.metrics);
  const datasetName = version.datasets[0] ?? version.datasetVersionId;
  const results =
    metricEntries.length === 0
      ? []
      : [
          {
            task: { type: version.task ?? 'other', ...(version.task ? { name: version.task } : {}) },
            dataset: { type: datasetName ?? 'unspecified', name: datasetName ?? 'unspecified' },
            metrics: metricEntries.map(([type, value]) => ({ type, value })),
          },
        ];
  const card = {
    id: version.id,
    name: version.name,
    versionNumber: version.versionNumber,
    stage: version.stage,
    description: version.description,
    language: version.language,
    license: version.license,
    libraryName: version.libraryName,
    tags: version.tags,
    datasets:
      version.datasets.length > 0
        ? version.datasets
        : version.datasetVersionId
          ? [version.datasetVersionId]
          : [],
    metricNames: metricEntries.map(([name]) => name),
    metrics: version.metrics,
    baseModel: version.baseModel,
    baseModelRelation: version.baseModelRelation,
    pipelineTag: version.task,
    results,
    intendedUse: version.intendedUse ?? defaultIntendedUse(version),
    outOfScopeUse: defaultOutOfScope,
    limitations: version.limitations ?? defaultLimitations(version),
    trainingParameters: version.trainingParameters,
    trainingJobId: version.trainingJobId,
    datasetVersionId: version.datasetVersionId,
    parentVersionId: version.parentVersionId,
    artifactUri: version.artifactUri,
    gettingStarted: [
      "import { createTunekit } from '@tunekit/core';",
      "import { RegistryKey, registryPlugin } from '@tunekit/registry';",
      '',
      "const kit = await createTunekit({ dataDirectory: './.tunekit', plugins: [registryPlugin()] });",
      `const model = await kit.get(RegistryKey).get(${JSON.stringify(version.id)});`,
      'const weights = model.artifactUri; // load with the trainer or any ONNX / PEFT runtime',
    ].join('\n'),
    generatedAt,
    version: 0,
  };
  return parseOrThrow(ModelCardSchema, card, `model card of "${version.id}"`);
}
