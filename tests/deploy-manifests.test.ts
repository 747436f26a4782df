import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '@tunekit/core/testing';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const run = promisify(execFile);
const deploy = join(import.meta.dirname, '..', 'deploy');
const kubectl = findExecutable('kubectl');
const KUBECTL_MISSING = 'kubectl (Debian kubernetes-client) not installed';

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
}

/** `kubectl kustomize <overlay>`, parsed. */
async function render(overlay: string): Promise<Manifest[]> {
  const { stdout } = await run(kubectl as string, [
    'kustomize',
    join(deploy, 'kubernetes', 'overlays', overlay),
  ]);
  return parseAllDocuments(stdout).map((document) => document.toJSON() as Manifest);
}

const find = (manifests: Manifest[], kind: string, name: string) => {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  expect(found, `${kind} ${name}`).toBeDefined();
  return found as Manifest;
};
const podSpec = (deployment: Manifest) =>
  (
    deployment.spec as {
      template: { spec: { containers: Container[]; securityContext?: Record<string, unknown> } };
    }
  ).template.spec;

describe('deploy/kubernetes (rendered with kubectl kustomize)', () => {
  for (const overlay of ['cpu', 'gpu']) {
    it.skipIf(!kubectl)(
      `${overlay} overlay: api + Service, workers, ConfigMap/Secret, probes on /live and /ready, PodDisruptionBudgets${kubectl ? '' : ` (skipped: ${KUBECTL_MISSING})`}`,
      async () => {
        const manifests = await render(overlay);
        for (const manifest of manifests) expect(manifest.metadata.namespace).toBe('tunekit');
        const configMap = find(manifests, 'ConfigMap', 'tunekit');
        expect(configMap.data?.TUNEKIT_QUEUE_ENGINE).toBe('bullmq');
        find(manifests, 'Secret', 'tunekit');
        const service = find(manifests, 'Service', 'tunekit-api');
        expect((service.spec as { selector: Record<string, string> }).selector).toEqual(
          expect.objectContaining({ 'app.kubernetes.io/name': 'tunekit-api' }),
        );
        for (const name of ['tunekit-api', 'tunekit-worker']) {
          const pod = podSpec(find(manifests, 'Deployment', name));
          expect(pod.securityContext?.runAsNonRoot).toBe(true);
          const [container] = pod.containers as [Container];
          expect(container.livenessProbe?.httpGet?.path).toBe('/live');
          expect(container.readinessProbe?.httpGet?.path).toBe('/ready');
          expect(container.envFrom).toEqual([
            { configMapRef: { name: 'tunekit' } },
            { secretRef: { name: 'tunekit' } },
          ]);
          expect(container.image.startsWith('ghcr.io/example/tunekit:0.1.0')).toBe(true);
          find(manifests, 'PodDisruptionBudget', name);
        }
        const worker = podSpec(find(manifests, 'Deployment', 'tunekit-worker')).containers[0] as Container;
        expect(worker.args?.[0]).toBe('worker');
        if (overlay === 'gpu') {
          expect(worker.resources?.requests?.['nvidia.com/gpu']).toBe(1);
          expect(worker.resources?.limits?.['nvidia.com/gpu']).toBe(1);
          expect(worker.image).toMatch(/-cuda$/);
          expect(worker.args).toEqual(expect.arrayContaining(['--device', 'cuda']));
        } else {
          expect(worker.resources?.requests?.['nvidia.com/gpu']).toBeUndefined();
          expect(worker.args).toEqual(expect.arrayContaining(['--device', 'cpu']));
        }
      },
    );
  }
});

describe('deploy/compose.yaml and deploy/Dockerfile', () => {
  it('compose runs an api, workers, redis, postgres and an S3-compatible store that share one configuration', async () => {
    const compose = parseYaml(await readFile(join(deploy, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string> }>;
    };
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['api', 'worker', 'redis', 'postgres', 'minio']),
    );
    const worker = compose.services.worker as { command: string[]; environment: Record<string, string> };
    const api = compose.services.api as { command: string[]; environment: Record<string, string> };
    expect(worker.command[0]).toBe('worker');
    expect(api.command[0]).toBe('serve');
    for (const name of [
      'TUNEKIT_STORAGE_URL',
      'TUNEKIT_QUEUE_ENGINE',
      'TUNEKIT_S3_BUCKET',
      'TUNEKIT_S3_ENDPOINT',
    ]) {
      expect(worker.environment[name], name).toBeDefined();
      expect(api.environment[name], name).toBe(worker.environment[name]);
    }
  });

  it('the Dockerfile builds in stages, ships production dependencies only and runs as a non-root user', async () => {
    const dockerfile = await readFile(join(deploy, 'Dockerfile'), 'utf8');
    const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((match) => [match[2], match[1]]);
    expect(Object.fromEntries(stages)).toMatchObject({
      build: expect.stringMatching(/^node:20/),
      runtime: expect.stringMatching(/^node:20/),
      'runtime-cuda': expect.stringMatching(/^nvidia\/cuda:12/),
    });
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    // Each runtime stage ends as a non-root user.
    for (const stage of dockerfile.split(/^FROM /m).filter((text) => /^\S+ AS runtime/.test(text))) {
      expect(stage).toMatch(/^USER (node|tunekit)$/m);
    }
  });
});
