// The worked example of docs/plugins.md, verbatim apart from the assertions (keep them in sync).

import { createServiceKey, createTunekit, definePlugin } from '@tunekit/core';
import type { Embedder } from '@tunekit/registry';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

/** A deterministic toy embedder: character trigram counts hashed into `dimensions` buckets. */
function createTrigramEmbedder(dimensions: number): Embedder {
  return {
    name: 'trigram',
    dimensions,
    async embed(texts) {
      return texts.map((text) => {
        const vector = new Float32Array(dimensions);
        const padded = `  ${text.toLowerCase()}  `;
        for (let index = 0; index + 3 <= padded.length; index += 1) {
          let hash = 0;
          for (const character of padded.slice(index, index + 3)) {
            hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
          }
          vector[hash % dimensions] += 1;
        }
        const norm = Math.hypot(...vector) || 1;
        return vector.map((value) => value / norm);
      });
    },
  };
}

const trigramEmbedderPlugin = definePlugin({
  name: 'trigram-embedder',
  version: '1.0.0',
  setup(context) {
    context.extensions.add('embedder', 'trigram', createTrigramEmbedder(128));
    return () => {
      context.extensions.remove('embedder', 'trigram');
    };
  },
});

interface SimilarNotes {
  add(id: string, text: string): Promise<void>;
  search(text: string, limit?: number): Promise<Array<{ id: string; text: string; score: number }>>;
}
const SimilarNotesKey = createServiceKey<SimilarNotes>('similar-notes');

const NoteSchema = z.object({
  id: z.string().min(1),
  text: z.string().min(1),
  vector: z.array(z.number()),
  version: z.number().int().default(0),
});

const similarNotesPlugin = definePlugin({
  name: 'similar-notes',
  version: '1.0.0',
  dependencies: ['trigram-embedder'],
  setup(context) {
    const embedder = context.extensions.get('embedder', 'trigram');
    if (embedder === undefined) {
      throw new Error('the trigram embedder is not registered');
    }
    const notes = context.kit.storage.collection('similar-notes', NoteSchema);
    const embed = async (text: string) => Array.from((await embedder.embed([text]))[0]);

    context.provide(SimilarNotesKey, {
      async add(id, text) {
        await notes.set({ id, text, vector: await embed(text), version: 0 });
      },
      async search(text, limit = 3) {
        const query = await embed(text);
        const { items } = await notes.list({ limit: 1000 });
        return items
          .map((note) => ({
            id: note.id,
            text: note.text,
            score: note.vector.reduce((sum, value, index) => sum + value * query[index], 0),
          }))
          .sort((a, b) => b.score - a.score)
          .slice(0, limit);
      },
    });

    // A job kind: re-embed every note (e.g. after changing the embedder), with progress and cancellation.
    context.kit.jobs.register('similar-notes:reindex', async (_input, job) => {
      const { items } = await notes.list({ limit: 1000 });
      for (const [index, note] of items.entries()) {
        job.signal.throwIfAborted();
        await notes.update(note.id, async (current) => ({ ...current, vector: await embed(current.text) }));
        job.progress((index + 1) / items.length, { message: note.id });
      }
      return { reindexed: items.length };
    });

    const stopListening = context.events.on('job:failed', ({ jobId, error }) => {
      context.logger.warn({ jobId }, `a job failed: ${error}`);
    });
    return () => stopListening();
  },
});

describe('plugin guide worked example', () => {
  it('runs as documented', async () => {
    const kit = await createTunekit({ plugins: [similarNotesPlugin, trigramEmbedderPlugin] });
    expect(kit.plugins).toEqual(['trigram-embedder', 'similar-notes']);

    const similar = kit.get(SimilarNotesKey);
    await similar.add('n1', 'LoRA fine-tuning of GPT-2 on support tickets');
    await similar.add('n2', 'Quarterly budget review meeting');
    const results = await similar.search('fine-tune gpt2 with lora');
    expect(results[0].id).toBe('n1');
    expect(results[0].score).toBeGreaterThan(results[1].score);

    const job = await kit.jobs.submit('similar-notes:reindex', {});
    expect((await kit.jobs.wait(job.id)).output).toEqual({ reindexed: 2 });
    expect(kit.extensions.get('embedder', 'trigram')).toBeDefined();
    await kit.close();
    expect(kit.extensions.get('embedder', 'trigram')).toBeUndefined();
  });
});
