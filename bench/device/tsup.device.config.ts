/**
 * The device bundle of `bench/device/run.sh stage`: the bench entry points with Tunekit and every
 * pure-JavaScript dependency inlined, `onnxruntime-node` external (the GPU machine links its own
 * 1.29.0 with the CUDA provider), written to `.device/bench/` (ignored by git).
 */
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    'trainer-throughput': 'bench/trainer-throughput.ts',
    'trainer-presets': 'bench/trainer-presets.ts',
    'train-adapter': 'bench/device/train-adapter.ts',
  },
  outDir: '.device/bench',
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  bundle: true,
  splitting: false,
  noExternal: [/^(?!onnxruntime-node|onnxruntime-common|@huggingface\/transformers|sharp)/],
  external: ['onnxruntime-node', 'onnxruntime-common', '@huggingface/transformers', 'sharp'],
  tsconfig: 'tsconfig.json',
  clean: true,
  banner: {
    js: "import { createRequire as __deviceCreateRequire } from 'node:module'; const require = __deviceCreateRequire(import.meta.url);",
  },
});
