/**
 * The LoRA settings that decide which modules are adapted and with which rank and alpha, with PEFT's
 * names in camelCase (a subset of `LoraConfig`, so these rules take any config that has them).
 */
export interface LoraTargeting {
  r: number;
  alpha: number;
  rsLora?: boolean;
  /** Names or dotted suffixes (`c_attn`, `attn.c_attn`, a full path), or one regular expression. */
  targetModules?: readonly string[] | string;
  /** Modules never adapted: names/suffixes, or one regular expression. */
  excludeModules?: readonly string[] | string | null;
  /** Only these layer indices (with a suffix target list). */
  layersToTransform?: readonly number[] | number | null;
  /** The name(s) of the layer list the index follows (`h`, `layers`, `layer`). */
  layersPattern?: readonly string[] | string | null;
  /** Rank by module pattern (PEFT `rank_pattern`). */
  rankPattern?: Readonly<Record<string, number>>;
  /** Alpha by module pattern (PEFT `alpha_pattern`). */
  alphaPattern?: Readonly<Record<string, number>>;
  /** Modules trained in full and saved with the adapter; never LoRA targets. */
  modulesToSave?: readonly string[] | null;
}

/** Escapes nothing: PEFT uses its patterns as raw regular expressions (Python `re`, the common subset works in JS). */
function fullMatch(pattern: string, key: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(key);
}

function matchesNameOrSuffix(names: readonly string[], key: string): boolean {
  return names.some((name) => key === name || key.endsWith(`.${name}`));
}

/**
 * Whether PEFT adapts the module at `key` (`transformer.h.0.attn.c_attn`), following
 * `peft.tuners.tuners_utils.check_target_module_exists`: excluded modules (`excludeModules`: a regular
 * expression matched against the whole key, or names/suffixes) and `modulesToSave` modules never are; a
 * string `targetModules` is a regular expression matched against the whole key; a list matches a key
 * equal to an entry, or ending with `.` + an entry, and then, with `layersToTransform`, only in the
 * listed layers (the index after `.<layersPattern>.`, or after any `.<name>.` without a pattern).
 */
export function isPeftTarget(config: LoraTargeting, key: string): boolean {
  const exclude = config.excludeModules;
  if (exclude) {
    if (typeof exclude === 'string' ? fullMatch(exclude, key) : matchesNameOrSuffix(exclude, key))
      return false;
  }
  if (config.modulesToSave?.some((module) => new RegExp(`^(.*\\.)?${module}(\\..*)?$`).test(key)))
    return false;
  const targets = config.targetModules;
  if (targets === undefined) return false;
  if (typeof targets === 'string') return fullMatch(targets, key);
  if (targets.includes(key)) return true;
  if (!targets.some((target) => key.endsWith(`.${target}`))) return false;
  const layers = config.layersToTransform;
  const usingLayers =
    layers !== undefined && layers !== null && (typeof layers === 'number' || layers.length > 0);
  if (!usingLayers) return true;
  const patterns = config.layersPattern;
  let index: RegExpExecArray | null = null;
  if (patterns === undefined || patterns === null || patterns.length === 0) {
    index = /^.*\.[^.]*\.(\d+)\./.exec(key);
  } else {
    for (const pattern of typeof patterns === 'string' ? [patterns] : patterns) {
      index = new RegExp(`^.*\\.${pattern}\\.(\\d+)\\.`).exec(key);
      if (index) break;
    }
  }
  if (!index) return false;
  const layer = Number(index[1]);
  return typeof layers === 'number' ? layer === layers : layers.includes(layer);
}

/**
 * PEFT's `get_pattern_key`: the first pattern (in insertion order) that matches the end of `key`
 * after a dot (`^(.*\.)?(<pattern>)$`), or undefined.
 */
export function matchPatternKey(
  patterns: Readonly<Record<string, number>> | undefined,
  key: string,
): string | undefined {
  if (!patterns) return undefined;
  return Object.keys(patterns).find((pattern) => new RegExp(`^(.*\\.)?(${pattern})$`).test(key));
}

/** Rank, alpha and scaling of one adapted module. */
export interface LoraModuleSettings {
  r: number;
  alpha: number;
  /** `alpha / r`, or `alpha / √r` with rsLoRA. */
  scaling: number;
}

/**
 * The rank and alpha PEFT gives the module at `key`: `rankPattern`/`alphaPattern` entries that
 * match it (see {@link matchPatternKey}) override `r`/`alpha`; scaling `alpha / r`, or `alpha / √r`
 * with `rsLora`.
 */
export function loraModuleSettings(config: LoraTargeting, key: string): LoraModuleSettings {
  const rankKey = matchPatternKey(config.rankPattern, key);
  const alphaKey = matchPatternKey(config.alphaPattern, key);
  const r = rankKey === undefined ? config.r : (config.rankPattern?.[rankKey] as number);
  const alpha = alphaKey === undefined ? config.alpha : (config.alphaPattern?.[alphaKey] as number);
  return { r, alpha, scaling: config.rsLora ? alpha / Math.sqrt(r) : alpha / r };
}
