/**
 * The error catalogue: every code Tunekit throws, with its HTTP status.
 *
 * Packages add their own codes here so that the whole catalogue is in one place and the server
 * adapter can map any failure to a status.
 */
export const ErrorCodes = {
  VALIDATION_FAILED: { status: 400, description: 'Input did not match its schema.' },
  NOT_FOUND: { status: 404, description: 'The requested record does not exist.' },
  CONFLICT: {
    status: 409,
    description: 'The record changed since it was read (version mismatch) or already exists.',
  },
  UNAUTHENTICATED: { status: 401, description: 'No valid credentials were presented.' },
  FORBIDDEN: { status: 403, description: 'The principal lacks the permission.' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The body or file exceeds the configured limit.' },
  RATE_LIMITED: { status: 429, description: 'Too many requests.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The request body has a content type the route does not accept.',
  },
  ROUTE_INVALID: {
    status: 500,
    description:
      "A plugin's route is not a route definition, or clashes with another route's method and path or operation id.",
  },
  PLUGIN_DUPLICATE: { status: 500, description: 'Two plugins share a name.' },
  PLUGIN_MISSING_DEPENDENCY: {
    status: 500,
    description: 'A plugin depends on a plugin that is not registered.',
  },
  PLUGIN_CYCLE: { status: 500, description: 'Plugin dependencies form a cycle.' },
  PLUGIN_SETUP_FAILED: { status: 500, description: 'A plugin setup function threw.' },
  PLUGIN_TEARDOWN_FAILED: { status: 500, description: 'One or more plugin teardowns threw.' },
  SERVICE_MISSING: { status: 500, description: 'No plugin provides the requested service.' },
  SERVICE_DUPLICATE: { status: 500, description: 'A service key was provided twice.' },
  KIT_CLOSED: { status: 503, description: 'The kit has been closed.' },
  STORAGE_FAILED: { status: 500, description: 'The storage backend failed.' },
  ARTIFACT_NOT_FOUND: { status: 404, description: 'No artifact at that URI.' },
  ARTIFACT_INVALID_URI: { status: 400, description: 'The artifact URI is malformed or escapes the store.' },
  ARTIFACT_CHECKSUM_MISMATCH: { status: 500, description: 'Stored bytes do not match their checksum.' },
  JOB_UNKNOWN_KIND: { status: 400, description: 'No handler is registered for the job kind.' },
  JOB_NOT_FOUND: { status: 404, description: 'No job with that id.' },
  JOB_TIMEOUT: { status: 504, description: 'The job exceeded its timeout.' },
  JOB_CANCELLED: { status: 409, description: 'The job was cancelled.' },
  JOB_NOT_CANCELLABLE: { status: 409, description: 'The job already finished.' },
  JOB_INTERRUPTED: { status: 500, description: 'The process stopped while the job was running.' },
  JOB_NOT_RESUMABLE: {
    status: 409,
    description:
      'The job cannot resume: it is queued, succeeded, or still running on a live runner (or its queue engine cannot re-queue it).',
  },
  DEPENDENCY_MISSING: {
    status: 500,
    description: 'An optional package that the chosen engine or store needs is not installed.',
  },
  JOB_ENGINE_FAILED: {
    status: 503,
    description: 'The queue engine (BullMQ on Redis, pg-boss on PostgreSQL) could not queue the job.',
  },
  JOB_LEASE_LOST: {
    status: 409,
    description:
      'The runner lost a running job (its lease lapsed and another runner recovered it); its handler was aborted.',
  },
  GRAPH_INVALID: {
    status: 500,
    description: 'An ONNX graph under construction is inconsistent (shapes, names).',
  },
  AUTODIFF_UNSUPPORTED: {
    status: 500,
    description: 'An operator (or its configuration) has no gradient rule.',
  },
  SAFETENSORS_INVALID: {
    status: 422,
    description: 'A safetensors file is malformed or uses an unsupported dtype.',
  },
  MODEL_INVALID: {
    status: 422,
    description: 'A model folder lacks a config, weights or has mismatched shapes.',
  },
  MODEL_UNSUPPORTED: {
    status: 422,
    description: 'A model config asks for a feature Tunekit does not implement (e.g. a rope_scaling kind).',
  },
  MODEL_WEIGHTS_UNSUPPORTED: {
    status: 422,
    description:
      'The model folder stores its weights in a format Tunekit does not read (pytorch_model.bin pickles: convert them to safetensors).',
  },
  MODEL_KEYS_MISMATCH: {
    status: 422,
    description:
      'A checkpoint holds tensors the architecture does not have (pass strict: false to load it anyway and keep them).',
  },
  MODEL_UNKNOWN_ARCHITECTURE: {
    status: 400,
    description: 'No model architecture is registered under that name.',
  },
  MODEL_TASK_MISMATCH: {
    status: 400,
    description:
      'The model does not do what the endpoint asks (e.g. a generative model given to /predict, a classifier to /generate).',
  },
  TOKENIZER_NOT_FOUND: { status: 404, description: 'The folder has no tokenizer.json.' },
  TOKENIZER_INVALID: { status: 400, description: 'A tokenizer file cannot be read or parsed.' },
  TOKENIZER_UNSUPPORTED: {
    status: 422,
    description:
      'A tokenizer.json uses a feature Tunekit cannot reproduce exactly (details.field names it, e.g. an added token with single_word); refused rather than giving other ids than Hugging Face tokenizers.',
  },
  CHAT_TEMPLATE_INVALID: {
    status: 400,
    description: 'A Jinja chat template does not parse, fails to render or cannot locate assistant turns.',
  },
  BACKEND_NOT_FOUND: { status: 400, description: 'No trainer backend is registered under that device name.' },
  BACKEND_UNAVAILABLE: {
    status: 500,
    description: 'The requested trainer backend (device) cannot create a session.',
  },
  PRECISION_UNSUPPORTED: {
    status: 422,
    description:
      'The device has no kernels for the requested training precision (bfloat16 on the CPU execution provider, which has no bfloat16 MatMul or Gemm): use float16 or float32 there, or a CUDA device.',
  },
  TRAINING_NON_FINITE: {
    status: 422,
    description: 'A training step produced a NaN or infinite loss or gradient.',
  },
  TRAINING_OUT_OF_MEMORY: {
    status: 507,
    description: 'A training batch does not fit in memory (lower batch size or length).',
  },
  TRAINING_STEP_FAILED: { status: 500, description: 'A training step failed in the runtime.' },
  TRAINING_CANCELLED: {
    status: 409,
    description: 'Training was cancelled; a checkpoint was left when enabled.',
  },
  TRAINING_FAILED: { status: 500, description: 'The training worker failed or exited early.' },
  CHECKPOINT_NOT_FOUND: { status: 404, description: 'No complete checkpoint at that location.' },
  CHECKPOINT_INVALID: { status: 500, description: 'A checkpoint is damaged or does not match the model.' },
  ADAPTER_INVALID: {
    status: 422,
    description: 'A PEFT adapter folder is malformed or does not match the model.',
  },
  ADAPTER_KEYS_MISMATCH: {
    status: 422,
    description:
      'A PEFT adapter would change nothing or leaves tensors unused: its keys name modules the model lacks, or targeted modules have no tensors (pass strict: false to only warn).',
  },
  LORA_CONFIG_UNSUPPORTED: {
    status: 422,
    description:
      'A LoRA/PEFT config field has a value Tunekit does not implement (details.field names it); it is refused, never ignored.',
  },
  TRACKER_REQUEST_FAILED: {
    status: 502,
    description:
      'An experiment tracker (MLflow, W&B …) request failed; `details.retryable` says whether to retry.',
  },
  DATASET_INVALID: {
    status: 422,
    description:
      'Dataset rows failed validation (strict mode), or none was valid; details.report lists them.',
  },
  DATASET_NAME_TAKEN: {
    status: 409,
    description:
      'The dataset belongs to another user (another upload created the name first); only its owner or an admin adds versions.',
  },
  DATASET_EMPTY: { status: 422, description: 'The dataset file, stream or row list has no rows.' },
  DATASET_ROW_FORMAT_UNKNOWN: {
    status: 422,
    description: 'No row has the fields of a known row format (text, label, prompt, messages …).',
  },
  EVALUATOR_NOT_FOUND: { status: 400, description: 'No evaluator is registered under that name.' },
  EVALUATION_MISSING_FIELD: {
    status: 400,
    description:
      'A sample lacks what an evaluator needs (reference label or text, prediction text, token log-probabilities).',
  },
  EVALUATION_PREDICTION_FAILED: { status: 502, description: 'The predictor threw while an evaluation ran.' },
  ABTEST_NOT_ACTIVE: {
    status: 409,
    description: 'The A/B test is completed (or paused) and cannot take this operation.',
  },
  ABTEST_EXPOSURE_INVALID: {
    status: 403,
    description:
      'An A/B exposure token is forged, expired, or names another test, unit or caller: only units the server assigned take observations.',
  },
  AUDIT_KEY_MISSING: {
    status: 503,
    description:
      'The audit log has no key (audit.key, TUNEKIT_AUDIT_KEY), so it cannot sign or check a chain head.',
  },
  FEEDBACK_INVALID_RATING: { status: 400, description: 'A feedback rating must be an integer from 1 to 5.' },
  FEEDBACK_TEXT_TOO_LONG: { status: 413, description: 'A feedback text exceeds its configured size limit.' },
  INVALID_TRANSITION: {
    status: 409,
    description:
      'The model version cannot move to that stage from its current one (see the registry transition table).',
  },
  ROLLBACK_UNAVAILABLE: {
    status: 409,
    description: 'The registered model has no earlier production version to roll back to.',
  },
  MODEL_IN_PRODUCTION: {
    status: 409,
    description: 'A production model version cannot be deleted; archive it or deploy another first.',
  },
  EMBEDDER_NOT_FOUND: { status: 400, description: 'No embedder is registered under that name.' },
  EMBEDDER_UNAVAILABLE: {
    status: 500,
    description: 'The embedder cannot load (model folder missing, runtime failed to start).',
  },
  REGISTRY_INDEX_BUILD_FAILED: {
    status: 500,
    description:
      'Building the recommendation index in its worker thread failed (the current index stays in use).',
  },
  USER_EXISTS: { status: 409, description: 'A user with that username already exists.' },
  LAST_ADMIN: {
    status: 409,
    description:
      'The change would leave no enabled admin user (deleting, disabling or demoting the last one).',
  },
  CURRENT_PASSWORD_INCORRECT: {
    status: 403,
    description: 'A password change gave a wrong current password.',
  },
  INTERNAL: { status: 500, description: 'An unexpected failure.' },
  NOT_IMPLEMENTED: {
    status: 501,
    description: 'The server lacks the plugin or operation the request needs (e.g. no model registry).',
  },
} as const satisfies Record<string, { status: number; description: string }>;

/** A code from the core catalogue. Packages may throw other codes as plain strings. */
export type ErrorCode = keyof typeof ErrorCodes;
