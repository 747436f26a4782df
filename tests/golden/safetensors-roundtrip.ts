// Reads a safetensors file with Tunekit's reader and writes it back as F32, F16 and BF16
// (`weights.{f32,f16,bf16}.safetensors` in the output folder), for tests/golden/gpt2_lora.py.
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '@tunekit/trainer';

const [input, outputDirectory] = process.argv.slice(2) as [string, string];
const tensors = await readSafetensors(input);
for (const dtype of ['F32', 'F16', 'BF16'] as const) {
  await writeSafetensors(join(outputDirectory, `weights.${dtype.toLowerCase()}.safetensors`), tensors, {
    dtype,
  });
}
