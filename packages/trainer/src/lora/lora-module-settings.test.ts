import { LoraConfigSchema } from '@tunekit/core';
import { describe, expect, it } from 'vitest';
import { isPeftTarget, loraModuleSettings, matchPatternKey } from './lora-module-settings.js';
import { initializeLoraWeights } from './lora-weights.js';

// PEFT's own table for check_target_module_exists (tests/test_tuners_utils.py: key, target_modules,
// layers_to_transform, layers_pattern, expected). One row is left out: ('foo.bar.1.baz', ['baz'], [1],
// ['ar'], True) held only while PEFT did not escape the dot before the pattern; current PEFT
// (`.*\.{pattern}\.(\d+)\.`) gives False, as here.
const PEFT_CASES: Array<[string, string[] | string, number[] | null, string[] | null, boolean]> = [
  ['', [], null, null, false],
  ['', ['foo'], null, null, false],
  ['foo', [], null, null, false],
  ['foo', ['foo'], null, null, true],
  ['foo', ['bar'], null, null, false],
  ['foo', ['foo', 'bar'], null, null, true],
  ['foo', 'foo', null, null, true],
  ['foo', '.*oo', null, null, true],
  ['foo', 'fo.*', null, null, true],
  ['foo', '.*bar.*', null, null, false],
  ['foobar', '.*oba.*', null, null, true],
  ['foo.bar.1.baz', ['baz'], [1], ['bar'], true],
  ['foo.bar.1.baz', ['baz'], [0], ['bar'], false],
  ['foo.bar.1.baz', ['baz'], [2], ['bar'], false],
  ['foo.bar.10.baz', ['baz'], [0], ['bar'], false],
  ['foo.bar.10.baz', ['baz'], [1], ['bar'], false],
  ['foo.bar.1.baz', ['baz'], [0, 1, 2], ['bar'], true],
  ['foo.bar.1.baz', ['baz', 'spam'], [1], ['bar'], true],
  ['foo.bar.1.baz', ['baz', 'spam'], [0, 1, 2], ['bar'], true],
  ['foo.bar.1.baz', ['baz'], [1], [], true],
  ['transformer.h.1.attn.attention.q_proj.foo', ['q_proj'], null, [], false],
  ['transformer.h.1.attn.attention.q_proj', [], null, [], false],
  ['transformer.h.1.attn.attention.q_proj', ['q_proj'], null, [], true],
  ['transformer.h.1.attn.attention.q_proj', ['q_proj', 'v_proj'], null, [], true],
  ['transformer.h.1.attn.attention.resid_dropout', ['q_proj', 'v_proj'], null, [], false],
  ['transformer.h.1.attn.attention.q_proj', ['q_proj'], [1], ['h'], true],
  ['transformer.h.1.attn.attention.q_proj', ['q_proj'], [0], ['h'], false],
  ['transformer.h.1.attn.attention.q_proj', ['q_proj'], [2], ['h'], false],
  ['transformer.h.1.attn.attention.q_proj', ['q_proj'], [0, 1, 2], ['h'], true],
  ['transformer.h.1.attn.attention.q_proj', ['q_proj', 'v_proj'], [0, 1, 2], ['h'], true],
  ['foo.bar.q_proj', ['q_proj'], null, [], true],
  ['foo.bar.1.baz', ['baz'], [1], ['foo'], false],
  ['foo.bar.1.baz', ['baz'], [1], ['baz'], false],
  ['bar.1.baz', ['baz'], [1], ['bar'], false],
  ['foo.bar.001.baz', ['baz'], [1], ['bar'], true],
  ['foo.bar.1.spam.2.baz', ['baz'], [1], ['bar'], true],
  ['foo.bar.2.spam.1.baz', ['baz'], [1], ['bar'], false],
  ['blocks.1.weight', ['weight'], [1], ['blocks'], false],
  ['blocks.1.bias', ['weight'], [1], ['blocks'], false],
  ['mlp.blocks.1.weight', ['weight'], [1], ['blocks'], true],
  ['mlp.blocks.1.bias', ['weight'], [1], ['blocks'], false],
];

describe("PEFT's module matching", () => {
  it.each(PEFT_CASES)('%s with %j, layers %j, pattern %j → %s', (key, targets, layers, pattern, expected) => {
    const config = {
      r: 8,
      alpha: 16,
      targetModules: targets,
      layersToTransform: layers,
      layersPattern: pattern,
    };
    expect(isPeftTarget(config, key)).toBe(expected);
  });

  it('suffix targets, exclusions and modules_to_save', () => {
    const config = LoraConfigSchema.parse({ targetModules: ['attn.c_attn', 'c_fc'] });
    expect(isPeftTarget(config, 'transformer.h.0.attn.c_attn')).toBe(true);
    expect(isPeftTarget(config, 'transformer.h.0.mlp.c_fc')).toBe(true);
    expect(isPeftTarget(config, 'transformer.h.0.attn.c_proj')).toBe(false);
    const excluded = LoraConfigSchema.parse({ targetModules: ['c_fc'], excludeModules: ['h.1.mlp.c_fc'] });
    expect(isPeftTarget(excluded, 'transformer.h.0.mlp.c_fc')).toBe(true);
    expect(isPeftTarget(excluded, 'transformer.h.1.mlp.c_fc')).toBe(false);
    const excludedByRegex = LoraConfigSchema.parse({
      targetModules: ['c_fc'],
      excludeModules: '.*\\.h\\.0\\..*',
    });
    expect(isPeftTarget(excludedByRegex, 'transformer.h.0.mlp.c_fc')).toBe(false);
    const saved = LoraConfigSchema.parse({ targetModules: '.*', modulesToSave: ['classifier'] });
    expect(isPeftTarget(saved, 'classifier')).toBe(false);
    expect(isPeftTarget(saved, 'classifier.dense')).toBe(false);
  });

  it('rank_pattern and alpha_pattern as get_pattern_key: first key matching after a dot, as a regex', () => {
    const config = LoraConfigSchema.parse({
      r: 4,
      alpha: 8,
      rankPattern: { 'h.0.attn.c_attn': 2, c_fc: 8 },
      alphaPattern: { 'h\\.[01]\\.mlp\\.c_fc': 32 },
    });
    expect(loraModuleSettings(config, 'transformer.h.0.attn.c_attn')).toEqual({ r: 2, alpha: 8, scaling: 4 });
    expect(loraModuleSettings(config, 'transformer.h.1.attn.c_attn')).toEqual({ r: 4, alpha: 8, scaling: 2 });
    expect(loraModuleSettings(config, 'transformer.h.1.mlp.c_fc')).toEqual({ r: 8, alpha: 32, scaling: 4 });
    // The key must match a whole dotted tail: `c_fc` does not match `...mlp.xc_fc`.
    expect(matchPatternKey(config.rankPattern, 'transformer.h.1.mlp.xc_fc')).toBeUndefined();
    const rs = LoraConfigSchema.parse({ r: 16, alpha: 8, rsLora: true });
    expect(loraModuleSettings(rs, 'x').scaling).toBe(2);
  });

  it('init_lora_weights: true (B zeros), gaussian (A std 1/r), false (B random), per-module rank', () => {
    const modules = [
      { modulePath: 'transformer.h.0.attn.c_attn', inFeatures: 64, outFeatures: 32 },
      { modulePath: 'transformer.h.1.attn.c_attn', inFeatures: 64, outFeatures: 32 },
    ];
    const base = { r: 4, alpha: 8, rankPattern: { 'h.1.attn.c_attn': 2 } };
    const standard = initializeLoraWeights(base, modules, 1);
    expect(standard.get('base_model.model.transformer.h.1.attn.c_attn.lora_A.weight')?.shape).toEqual([
      2, 64,
    ]);
    expect(
      standard.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')?.data.every((v) => v === 0),
    ).toBe(true);
    const gaussian = initializeLoraWeights({ ...base, initLoraWeights: 'gaussian' }, modules, 1);
    const a = gaussian.get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')
      ?.data as Float32Array;
    const std = Math.sqrt(a.reduce((sum, value) => sum + value * value, 0) / a.length);
    expect(std).toBeGreaterThan(0.2);
    expect(std).toBeLessThan(0.3);
    const random = initializeLoraWeights({ ...base, initLoraWeights: false }, modules, 1);
    expect(
      random.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')?.data.some((v) => v !== 0),
    ).toBe(true);
  });
});
