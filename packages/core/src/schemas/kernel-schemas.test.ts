import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { TunekitError } from '../errors/tunekit-error.js';
import { parseOrThrow } from '../errors/validation-error.js';
import { CheckpointSchema } from './checkpoint.js';
import { RoleSchema } from './role.js';
import { TrainingJobInputSchema, TrainingJobSchema } from './training-job.js';
import { UserSchema } from './user.js';

function issuesOf(schema: z.ZodType, value: unknown, what: string) {
  try {
    parseOrThrow(schema, value, what);
  } catch (error) {
    const typed = error as TunekitError;
    expect(typed.code).toBe('VALIDATION_FAILED');
    return {
      message: typed.message,
      issues: typed.details.issues as Array<{ path: string; message: string }>,
    };
  }
  throw new Error(`expected ${what} to be rejected`);
}

const now = '2026-01-02T03:04:05.000Z';

describe('TrainingJob schemas', () => {
  const input = {
    baseModel: './models/tiny-gpt2',
    dataset: { versionId: 'dsv_1' },
    lora: { r: 4, alpha: 8, targetModules: ['c_attn'] },
    hyperparameters: { epochs: 2, learningRate: 2e-4 },
    outputName: 'tiny-support-bot',
    registerAs: { name: 'support-bot' },
  };

  it('accepts a valid input and fills defaults', () => {
    const parsed = TrainingJobInputSchema.parse(input);
    expect(parsed.hyperparameters).toMatchObject({ epochs: 2, batchSize: 8, seed: 42 });
    expect(parsed.lora).toMatchObject({ r: 4, dropout: 0, rsLora: false });
    expect(parsed.device).toBe('cpu');
    expect(parsed.registerAs?.tags).toEqual([]);
    const job = TrainingJobSchema.parse({ id: 'j1', kind: 'train', status: 'queued', input, createdAt: now });
    expect(job.input.outputName).toBe('tiny-support-bot');
    expect(
      TrainingJobInputSchema.parse({ ...input, lora: undefined, hyperparameters: undefined }).hyperparameters
        .epochs,
    ).toBe(1);
  });

  it('rejects bad input naming each field', () => {
    const { message, issues } = issuesOf(
      TrainingJobInputSchema,
      {
        ...input,
        baseModel: 'https://huggingface.co/gpt2',
        dataset: { versionId: '' },
        lora: { r: 0, targetModules: [] },
        hyperparameters: { learningRate: -1, epoch: 3 },
        outputName: '../escape',
      },
      'training job input',
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual(
      [
        'baseModel',
        'dataset.versionId',
        'hyperparameters',
        'hyperparameters.learningRate',
        'lora.r',
        'lora.targetModules',
        'outputName',
      ].sort(),
    );
    expect(message).toContain('baseModel: must be a local path, or an artifact:// or file:// URI');
    expect(message).toContain('outputName: must start with a letter or digit');
    expect(issues.find((issue) => issue.path === 'hyperparameters')?.message).toContain('epoch');
  });

  it('a TrainingJob must be of kind train', () => {
    const { issues } = issuesOf(
      TrainingJobSchema,
      { id: 'j1', kind: 'ingest', status: 'queued', input, createdAt: now },
      'training job',
    );
    expect(issues).toEqual([{ path: 'kind', message: expect.stringContaining('"train"') }]);
  });
});

describe('Checkpoint schema', () => {
  it('accepts a checkpoint and rejects bad fields readably', () => {
    const checkpoint = CheckpointSchema.parse({
      id: 'c1',
      jobId: 'j1',
      step: 100,
      kind: 'adapter',
      uri: 'artifact://jobs/j1/checkpoints/step-100',
      validationLoss: 1.2,
      createdAt: now,
    });
    expect(checkpoint).toMatchObject({ isBest: false, metrics: {}, version: 0 });
    const { issues } = issuesOf(
      CheckpointSchema,
      { ...checkpoint, step: -1, kind: 'weights', uri: '/tmp/x', sha256: 'XYZ', createdAt: 'yesterday' },
      'checkpoint',
    );
    expect(Object.fromEntries(issues.map((issue) => [issue.path, issue.message]))).toMatchObject({
      step: expect.stringContaining('>=0'),
      kind: expect.stringContaining('"adapter"'),
      uri: 'must be an artifact:// URI',
      sha256: 'must be 64 lowercase hex digits',
      createdAt: expect.stringMatching(/datetime/i),
    });
  });
});

describe('User and Role schemas', () => {
  it('accepts a user and rejects bad fields readably', () => {
    const user = UserSchema.parse({
      id: 'u1',
      username: 'ada',
      email: 'ada@example.com',
      passwordHash: '$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA',
      roles: ['admin'],
      createdAt: now,
    });
    expect(user.disabled).toBe(false);
    expect(RoleSchema.options).toEqual(['admin', 'user', 'viewer']);
    const { issues } = issuesOf(
      UserSchema,
      {
        id: 'u2',
        username: 'Ada Lovelace',
        email: 'not-an-email',
        passwordHash: 'hunter2',
        roles: ['root', 'user'],
        createdAt: now,
      },
      'user',
    );
    expect(Object.fromEntries(issues.map((issue) => [issue.path, issue.message]))).toMatchObject({
      username: expect.stringContaining('lowercase letters'),
      email: expect.stringMatching(/email/i),
      passwordHash: 'must be a PHC-format hash such as $scrypt$…',
      'roles.0': expect.stringContaining('"admin"|"user"|"viewer"'),
    });
    expect(issuesOf(UserSchema, { ...user, roles: [] }, 'user').issues[0].path).toBe('roles');
    expect(issuesOf(UserSchema, { ...user, roles: ['user', 'user'] }, 'user').issues[0].message).toBe(
      'must not repeat a role',
    );
  });
});
