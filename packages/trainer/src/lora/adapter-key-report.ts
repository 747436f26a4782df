import { tunekitError } from '@tunekit/core';
import type { LoadReport } from '../models/load-report.js';
import type { TensorMap } from '../safetensors/tensor-map.js';
import { isLoraTensorName, loraTensorNames } from './peft-names.js';

/**
 * Matches an adapter's LoRA tensors against the modules it targets in a model, as PEFT's
 * `set_peft_model_state_dict` reports them: `missingKeys` are the `lora_A`/`lora_B` tensors of targeted
 * modules that the adapter lacks (they would start from a fresh, do-nothing adapter), `unexpectedKeys`
 * the adapter's LoRA tensors that name no targeted module of the model (a wrong prefix, another
 * architecture: they would be dropped). Tensors without `.lora_` (PEFT `modules_to_save`) are left
 * to the caller.
 */
export function adapterKeyReport(targetedModules: readonly string[], weights: TensorMap): LoadReport {
  const expected = new Set<string>();
  for (const module of targetedModules) {
    const names = loraTensorNames(module);
    expected.add(names.a);
    expected.add(names.b);
  }
  const present = [...weights.keys()].filter(isLoraTensorName);
  return {
    missingKeys: [...expected].filter((name) => !weights.has(name)),
    unexpectedKeys: present.filter((name) => !expected.has(name)),
  };
}

/** Options of {@link checkAdapterKeys}. */
export interface CheckAdapterKeysOptions {
  /** Refuse a mismatch (default true); false only calls `onWarning`. */
  strict?: boolean;
  /** Called with the message and the report when a mismatch is let through (`strict: false`). */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
  /** Where the adapter came from, for the message (a folder). */
  source?: string;
}

/**
 * Throws `ADAPTER_KEYS_MISMATCH` when an adapter would change nothing or leaves tensors unused (see
 * {@link adapterKeyReport}), unless `strict: false`, which only warns. Returns the report.
 */
export function checkAdapterKeys(report: LoadReport, options: CheckAdapterKeysOptions = {}): LoadReport {
  if (report.missingKeys.length === 0 && report.unexpectedKeys.length === 0) return report;
  const list = (keys: string[]) =>
    `${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ` (+${keys.length - 3})` : ''}`;
  const parts = [
    report.unexpectedKeys.length > 0
      ? `${report.unexpectedKeys.length} tensor(s) name no targeted module of the model: ${list(report.unexpectedKeys)}`
      : '',
    report.missingKeys.length > 0
      ? `${report.missingKeys.length} tensor(s) of targeted modules are missing: ${list(report.missingKeys)}`
      : '',
  ].filter(Boolean);
  const message = `Adapter${options.source ? ` ${options.source}` : ''} does not match the model: ${parts.join('; ')}`;
  const details = { missingKeys: report.missingKeys, unexpectedKeys: report.unexpectedKeys };
  if (options.strict ?? true) {
    throw tunekitError('ADAPTER_KEYS_MISMATCH', `${message} (pass strict: false to load it anyway)`, details);
  }
  options.onWarning?.(message, details);
  return report;
}
