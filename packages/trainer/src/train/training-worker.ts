/**
 * Worker-thread entry of {@link trainInWorker}: builds a trainer, trains, saves, and reports events,
 * progress and the result over the typed message channel. onnxruntime runs block this thread,
 * not the main one.
 */
import { parentPort } from 'node:worker_threads';
import { TunekitError } from '@tunekit/core';
import { createTrainer } from './create-trainer.js';
import type { MainToWorkerMessage, WorkerToMainMessage } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('training-worker must run in a worker thread');
const controller = new AbortController();
const send = (message: WorkerToMainMessage) => port.postMessage(message);

port.on('message', (message: MainToWorkerMessage) => {
  if (message.type === 'cancel') {
    controller.abort();
    return;
  }
  void (async () => {
    const { request } = message;
    try {
      const trainer = await createTrainer({
        model: request.model,
        tokenizer: request.tokenizer,
        lora: request.adapter
          ? await (await import('../adapters/peft-adapter.js')).loadPeftAdapter(request.adapter)
          : request.lora,
        trainable: request.trainable,
        device: request.device,
        threads: request.threads,
        dropout: request.dropout,
        gradientCheckpointing: request.gradientCheckpointing,
        precision: request.precision,
        quantization: request.quantization,
        jobId: request.jobId,
        events: { emit: (name, payload) => send({ type: 'event', name, payload }) },
      });
      const result = await trainer.train(request.rows, {
        ...request.options,
        validation: request.validation,
        signal: controller.signal,
        onProgress: (progress, metrics) => send({ type: 'progress', progress, metrics }),
      });
      let savedTo: string | undefined;
      if (request.saveTo) {
        const { saveTrained } = await import('../adapters/save-trained.js');
        savedTo = await saveTrained(trainer, request.saveTo);
      }
      await trainer.close();
      send({ type: 'result', result, savedTo });
    } catch (error) {
      const known = TunekitError.isInstance(error);
      send({
        type: 'error',
        error: {
          code: known ? error.code : 'TRAINING_FAILED',
          message: error instanceof Error ? error.message : String(error),
          status: known ? error.status : 500,
          details: known ? JSON.parse(JSON.stringify(error.details)) : {},
        },
      });
    }
  })();
});
