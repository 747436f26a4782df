import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadOnnxRuntime } from '../../backends/onnxruntime-backend.js';
import { resolveLoraConfig } from '../../lora/lora-config.js';
import { readSafetensors } from '../../safetensors/safetensors-file.js';
import { relativeError } from '../../testing/relative-error.js';
import { gpt2Architecture } from './gpt2-architecture.js';
import { Gpt2ConfigSchema } from './gpt2-config.js';

// Fixtures written by tests/golden/dpo.py (PyTorch 1.13, fp32) on the model of gpt2_lora.py.
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

describe('GPT-2 DPO graph against PyTorch golden values', () => {
  it.each([{ headChunkTokens: undefined }, { headChunkTokens: 5 }])(
    'loss, policy log probabilities and every LoRA gradient within 1e-5; the base model gives the reference (head chunks $headChunkTokens)',
    async ({ headChunkTokens }) => {
      const ort = await loadOnnxRuntime();
      const manifest = JSON.parse(await readFile(`${fixtures}manifest.json`, 'utf8'));
      const dpo = JSON.parse(await readFile(`${fixtures}dpo.manifest.json`, 'utf8')) as {
        beta: number;
        input_ids: number[][];
        attention_mask: number[][];
        labels: number[][];
      };
      const weights = await readSafetensors(`${fixtures}weights.safetensors`);
      const adapter = await readSafetensors(`${fixtures}adapter.safetensors`);
      const expected = await readSafetensors(`${fixtures}dpo.expected.safetensors`);
      const reference = (name: string) => (expected.get(name) as { data: Float32Array }).data;
      const graph = gpt2Architecture.buildTrainingGraph({
        config: Gpt2ConfigSchema.parse(manifest.config),
        weights,
        lora: { config: resolveLoraConfig(manifest.lora), weights: adapter },
        trainable: 'lora',
        dropout: false,
        preference: { beta: dpo.beta },
        headChunkTokens,
      });
      expect(graph.preference).toEqual({
        beta: dpo.beta,
        referenceInput: 'reference_logps',
        sequenceOutput: 'sequence_logps',
      });
      const session = await ort.InferenceSession.create(graph.model);
      const tensor = (rows: number[][]) =>
        new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [
          rows.length,
          rows[0]?.length ?? 0,
        ]);
      const run = async (parameter: (name: string, initial: Float32Array) => Float32Array) => {
        const feeds: Record<string, Tensor> = {
          input_ids: tensor(dpo.input_ids),
          attention_mask: tensor(dpo.attention_mask),
          labels: tensor(dpo.labels),
          reference_logps: new ort.Tensor('float32', reference('reference'), [dpo.labels.length]),
        };
        for (const item of graph.parameters) {
          feeds[item.inputName] = new ort.Tensor('float32', parameter(item.name, item.initial), item.shape);
        }
        const output = await session.run(feeds);
        return (name: string) => (output[name] as Tensor).data as Float32Array;
      };
      const policy = await run((_name, initial) => initial);
      expect(relativeError(policy('loss'), reference('loss'))).toBeLessThan(1e-5);
      expect(relativeError(policy('sequence_logps'), reference('policy'))).toBeLessThan(1e-5);
      for (const parameter of graph.parameters) {
        expect(
          relativeError(policy(parameter.gradientName), reference(`grad.${parameter.name}`)),
          parameter.name,
        ).toBeLessThan(1e-5);
      }
      // With every lora_B zeroed the adapter adds nothing: the graph computes the reference model.
      const base = await run((name, initial) =>
        name.endsWith('lora_B.weight') ? new Float32Array(initial.length) : initial,
      );
      expect(relativeError(base('sequence_logps'), reference('reference'))).toBeLessThan(1e-5);
      await session.release();
    },
  );
});
