import { tunekitError } from '@tunekit/core';

/** Decimal units of a shard size, as huggingface_hub's `parse_size_to_int` reads them. */
const SIZE_UNITS: Record<string, number> = { TB: 10 ** 12, GB: 10 ** 9, MB: 10 ** 6, KB: 10 ** 3 };

/**
 * A shard size in bytes: a positive integer as it is, or a string with a decimal unit (`"5GB"`,
 * `" 10 KB "`, `"20mb"`, `"1.5GB"`) read as huggingface_hub's `parse_size_to_int` reads the
 * `max_shard_size` of transformers' `save_pretrained` (`KB` = 1000 bytes; `KiB` is refused there and
 * here). Throws `VALIDATION_FAILED` for anything else.
 */
export function parseShardSize(size: number | string): number {
  const refuse = (reason: string) =>
    tunekitError('VALIDATION_FAILED', `Invalid maxShardSize ${JSON.stringify(size)}: ${reason}`, {
      what: 'maxShardSize',
      issues: [{ path: 'maxShardSize', message: reason }],
    });
  if (typeof size === 'number') {
    if (!Number.isSafeInteger(size) || size <= 0) throw refuse('expected a positive whole number of bytes');
    return size;
  }
  const text = size.trim();
  const unit = text.slice(-2).toUpperCase();
  const multiplier = SIZE_UNITS[unit];
  if (multiplier === undefined) throw refuse(`unit '${unit}' not supported (TB, GB, MB, KB)`);
  const valueText = text.slice(0, -2).trim();
  const value = Number(valueText);
  if (valueText === '' || !Number.isFinite(value) || value <= 0)
    throw refuse('could not parse the size value');
  const bytes = Math.floor(value * multiplier);
  if (bytes <= 0) throw refuse('the size is below one byte');
  return bytes;
}
