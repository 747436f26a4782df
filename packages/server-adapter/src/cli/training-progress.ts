import type { CliOutput } from './cli-command.js';

/** One thing that happened to a training run, as `tunekit train` reports it (and `--json` prints it). */
export type TrainingProgressEvent =
  | { type: 'submitted'; jobId: string; resumed?: boolean }
  | {
      type: 'step';
      jobId: string;
      step: number;
      /** Steps of the whole run, when known. */
      totalSteps?: number;
      epoch?: number;
      loss: number;
      learningRate?: number;
      tokensPerSecond?: number;
    }
  | { type: 'evaluated'; jobId: string; step: number; metrics: Record<string, number> }
  | { type: 'checkpoint'; jobId: string; step: number; uri: string }
  | {
      type: 'finished';
      jobId: string;
      /** `interrupted`: stopped by Ctrl-C with a checkpoint; `tunekit train --resume` continues it. */
      status: 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
      error?: string;
      output?: unknown;
    };

/** How progress is shown: a redrawn bar (terminal), one plain line per event, or one JSON object per event. */
export type ProgressMode = 'bar' | 'lines' | 'json';

/** Receives a run's events and shows them. */
export interface ProgressReporter {
  report(event: TrainingProgressEvent): void;
  /** Ends the bar's line. */
  close(): void;
}

/** `1:02:03` / `2:03` for a number of seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

function stepFields(
  event: Extract<TrainingProgressEvent, { type: 'step' }>,
  eta: number | undefined,
  evalLoss: number | undefined,
) {
  const fields = [`loss ${event.loss.toFixed(4)}`];
  if (event.learningRate !== undefined) fields.push(`lr ${event.learningRate.toExponential(2)}`);
  if (event.tokensPerSecond !== undefined) fields.push(`${Math.round(event.tokensPerSecond)} tok/s`);
  if (eta !== undefined) fields.push(`ETA ${formatDuration(eta)}`);
  if (evalLoss !== undefined) fields.push(`eval ${evalLoss.toFixed(4)}`);
  return fields.join('  ');
}

function describe(event: TrainingProgressEvent): string {
  switch (event.type) {
    case 'submitted':
      return `${event.resumed ? 'resuming' : 'training'} job ${event.jobId}`;
    case 'evaluated':
      return `step ${event.step} evaluation: ${Object.entries(event.metrics)
        .map(([name, value]) => `${name} ${Number.isInteger(value) ? value : value.toFixed(4)}`)
        .join('  ')}`;
    case 'checkpoint':
      return `step ${event.step} checkpoint ${event.uri}`;
    case 'finished':
      return event.status === 'interrupted'
        ? `job ${event.jobId} interrupted; its checkpoint is kept: \`tunekit train --resume ${event.jobId}\` continues it`
        : `job ${event.jobId} ${event.status}${event.error ? `: ${event.error}` : ''}`;
    default:
      return '';
  }
}

/**
 * Creates a reporter. `bar` redraws one line (`step 12/200 [####·····] loss … lr … tok/s ETA eval`)
 * and prints other events above it; `lines` prints a line per event; `json` prints each event as
 * one JSON object per line.
 */
export function createProgressReporter(
  mode: ProgressMode,
  output: CliOutput,
  now: () => number = Date.now,
): ProgressReporter {
  let started: { time: number; step: number } | undefined;
  let evalLoss: number | undefined;
  let barShown = false;
  const eta = (event: Extract<TrainingProgressEvent, { type: 'step' }>) => {
    if (!event.totalSteps) return undefined;
    if (!started) {
      started = { time: now(), step: event.step };
      return undefined;
    }
    const done = event.step - started.step;
    if (done <= 0) return undefined;
    return (((now() - started.time) / 1000) * (event.totalSteps - event.step)) / done;
  };
  const clearBar = () => {
    if (barShown) output.write('\r\x1b[2K');
    barShown = false;
  };
  return {
    report(event) {
      if (mode === 'json') {
        output.write(`${JSON.stringify(event)}\n`);
        return;
      }
      if (event.type === 'evaluated')
        evalLoss = event.metrics.validationLoss ?? event.metrics.loss ?? evalLoss;
      if (event.type !== 'step') {
        clearBar();
        output.write(`${describe(event)}\n`);
        return;
      }
      const total = event.totalSteps ? `/${event.totalSteps}` : '';
      const fields = stepFields(event, eta(event), evalLoss);
      if (mode === 'lines') {
        output.write(`step ${event.step}${total}  ${fields}\n`);
        return;
      }
      const columns = output.columns || 80;
      const prefix = `step ${event.step}${total} `;
      let bar = '';
      if (event.totalSteps) {
        const width = Math.max(10, Math.min(30, columns - 1 - prefix.length - fields.length - 8));
        const filled = Math.round((width * Math.min(event.step, event.totalSteps)) / event.totalSteps);
        const percent = Math.floor((100 * event.step) / event.totalSteps);
        bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}% `;
      }
      output.write(`\r\x1b[2K${`${prefix}${bar}${fields}`.slice(0, Math.max(20, columns - 1))}`);
      barShown = true;
    },
    close() {
      if (barShown) output.write('\n');
      barShown = false;
    },
  };
}
