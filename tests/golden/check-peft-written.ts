// Loads the adapters that tests/golden/real_peft_crosscheck.py wrote with the real PEFT library
// (OUT_DIR/peft-written/<case>/adapter + logits.json) in Tunekit, on the base folder each names, and
// compares Tunekit's logits with PEFT's. One JSON line per case, then a summary; exit code 1 on a
// difference above 1e-4 or a load failure.
//
//   npx tsx tests/golden/check-peft-written.ts OUT_DIR/peft-written
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, loadPeftAdapter } from '@tunekit/trainer';
import type { Tensor } from 'onnxruntime-node';

const root = fileURLToPath(new URL('../../', import.meta.url));
const directory = process.argv[2];
if (!directory) {
  console.error('usage: npx tsx tests/golden/check-peft-written.ts OUT_DIR/peft-written');
  process.exit(2);
}
const ort = await import('onnxruntime-node');
let failed = 0;
const cases = (await readdir(directory)).sort();
for (const name of cases) {
  try {
    const spec = JSON.parse(await readFile(join(directory, name, 'logits.json'), 'utf8')) as {
      base: string;
      task: 'CAUSAL_LM' | 'SEQ_CLS';
      input_ids: number[][];
      attention_mask: number[][];
      logits: number[];
    };
    const model = await loadModel(join(root, spec.base));
    const adapter = await loadPeftAdapter(join(directory, name, 'adapter'), { model });
    const graph = model.architecture.buildInferenceGraph({
      config: model.config,
      weights: model.weights,
      lora: adapter,
      kvCache: false,
    });
    const session = await ort.InferenceSession.create(graph.model);
    const shape = [spec.input_ids.length, spec.input_ids[0]?.length ?? 0];
    const int64 = (values: number[]) =>
      new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), shape);
    const feeds: Record<string, Tensor> = {
      input_ids: int64(spec.input_ids.flat()),
      attention_mask: int64(spec.attention_mask.flat()),
    };
    if (spec.task === 'CAUSAL_LM')
      feeds.position_ids = int64(spec.input_ids.flatMap((row) => row.map((_, index) => index)));
    const output = await session.run(feeds);
    await session.release();
    const logits = (output.logits as Tensor).data as Float32Array;
    let worst = logits.length === spec.logits.length ? 0 : Number.POSITIVE_INFINITY;
    for (let index = 0; index < logits.length; index += 1) {
      worst = Math.max(worst, Math.abs((logits[index] as number) - (spec.logits[index] as number)));
    }
    const ok = worst <= 1e-4;
    if (!ok) failed += 1;
    console.log(
      JSON.stringify({
        check: 'C.tunekit-loads-peft-adapter',
        case: name,
        max_abs_diff: worst,
        ok,
        report: adapter.report,
      }),
    );
  } catch (error) {
    failed += 1;
    console.log(
      JSON.stringify({ check: 'C.tunekit-loads-peft-adapter', case: name, ok: false, error: String(error) }),
    );
  }
}
console.log(JSON.stringify({ summary: true, cases: cases.length, failed }));
process.exit(failed > 0 ? 1 : 0);
