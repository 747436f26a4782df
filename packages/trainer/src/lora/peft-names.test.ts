import { describe, expect, it } from 'vitest';
import {
  baseTensorName,
  isLoraTensorName,
  isTensorOfModule,
  loraPartnerName,
  loraTensorName,
  loraTensorNames,
  PEFT_PREFIX,
  parseLoraTensorName,
  peftTensorName,
  withoutAdapterName,
} from './peft-names.js';

// Names as PEFT 0.13 writes them for GPT-2 (`save_pretrained`) and holds them in memory
// (`get_peft_model(...).state_dict()`, adapter "default").
const SAVED_A = 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight';
const SAVED_B = 'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight';
const IN_MEMORY_A = 'base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight';

describe('PEFT tensor names', () => {
  it('names the LoRA pair of a module as PEFT saves it', () => {
    expect(PEFT_PREFIX).toBe('base_model.model.');
    expect(loraTensorNames('transformer.h.0.attn.c_attn')).toEqual({ a: SAVED_A, b: SAVED_B });
    expect(loraTensorName('model.layers.1.self_attn.q_proj', 'B')).toBe(
      'base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight',
    );
  });

  it('parses saved and in-memory LoRA names, and nothing else', () => {
    expect(parseLoraTensorName(SAVED_A)).toEqual({ modulePath: 'transformer.h.0.attn.c_attn', matrix: 'A' });
    expect(parseLoraTensorName(SAVED_B)?.matrix).toBe('B');
    expect(parseLoraTensorName(IN_MEMORY_A)).toEqual({
      modulePath: 'transformer.h.0.attn.c_attn',
      matrix: 'A',
      adapterName: 'default',
    });
    for (const name of [
      'transformer.h.0.attn.c_attn.lora_A.weight', // no PEFT prefix
      'base_model.model.classifier.weight', // modules_to_save
      'base_model.model.x.lora_C.weight',
      'base_model.model.x.lora_A.bias',
      'base_model.model.x.lora_embedding_A', // embedding LoRA: not supported
    ]) {
      expect(parseLoraTensorName(name), name).toBeUndefined();
    }
  });

  it('round-trips a module path through its names', () => {
    const modulePath = 'roberta.encoder.layer.3.attention.self.query';
    for (const matrix of ['A', 'B'] as const) {
      expect(parseLoraTensorName(loraTensorName(modulePath, matrix))).toEqual({ modulePath, matrix });
    }
  });

  it('drops the in-memory adapter name and leaves other names alone', () => {
    expect(withoutAdapterName(IN_MEMORY_A)).toBe(SAVED_A);
    expect(withoutAdapterName(SAVED_B)).toBe(SAVED_B);
    expect(withoutAdapterName('base_model.model.classifier.weight')).toBe(
      'base_model.model.classifier.weight',
    );
  });

  it('finds the partner of a LoRA tensor', () => {
    expect(loraPartnerName(SAVED_A)).toBe(SAVED_B);
    expect(loraPartnerName(SAVED_B)).toBe(SAVED_A);
    expect(loraPartnerName('base_model.model.classifier.weight')).toBeUndefined();
  });

  it('tells LoRA tensors from tensors trained in full, and maps the latter to base names', () => {
    expect(isLoraTensorName(SAVED_A)).toBe(true);
    expect(isLoraTensorName(IN_MEMORY_A)).toBe(true);
    expect(isLoraTensorName('base_model.model.classifier.weight')).toBe(false);
    expect(peftTensorName('classifier.weight')).toBe('base_model.model.classifier.weight');
    expect(baseTensorName('base_model.model.classifier.weight')).toBe('classifier.weight');
    expect(baseTensorName(peftTensorName('roberta.pooler.dense.bias'))).toBe('roberta.pooler.dense.bias');
    expect(baseTensorName(SAVED_A)).toBeUndefined();
    expect(baseTensorName('classifier.weight')).toBeUndefined();
  });

  it('matches modules_to_save entries as PEFT does (a whole dotted name, tensors below it)', () => {
    expect(isTensorOfModule('classifier.weight', 'classifier')).toBe(true);
    expect(isTensorOfModule('classifier.out_proj.bias', 'classifier')).toBe(true);
    expect(isTensorOfModule('roberta.classifier.dense.weight', 'classifier')).toBe(true);
    expect(isTensorOfModule('my_classifier.weight', 'classifier')).toBe(false);
    expect(isTensorOfModule('classifier', 'classifier')).toBe(false);
    expect(isTensorOfModule('pre_classifier.weight', 'pre_classifier')).toBe(true);
  });
});
