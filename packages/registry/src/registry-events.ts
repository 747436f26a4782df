/**
 * The events the model registry emits on the kit's bus, by `noun:verb` name, with their payloads.
 * The registry declares them, not core: {@link TunekitEventMap} is extended below by declaration
 * merging, so `kit.events.on('model:deployed', …)` is typed wherever `@tunekit/registry` is imported.
 */
export interface RegistryEventMap {
  /** A model version was registered (stage `draft`). */
  'model:registered': { versionId: string; name: string; versionNumber: number; trainingJobId?: string };
  /** A model version changed stage (`action`: transition, deploy, auto-archive, rollback). */
  'model:transitioned': {
    versionId: string;
    name: string;
    from: 'draft' | 'staging' | 'production' | 'archived';
    to: 'draft' | 'staging' | 'production' | 'archived';
    action: 'transition' | 'deploy' | 'auto-archive' | 'rollback';
  };
  /** A version became production (`previousVersionId` was archived by the same operation). */
  'model:deployed': { versionId: string; name: string; previousVersionId?: string };
  /** Production went back from `fromVersionId` to the earlier production version `toVersionId`. */
  'model:rolled-back': { name: string; fromVersionId: string; toVersionId: string };
  /** Description or tags of a version were edited (its card was regenerated). */
  'model:updated': { versionId: string; name: string; fields: string[] };
  /** A version was deleted. */
  'model:deleted': { versionId: string; name: string };
  /** An alias was set (`versionId`) or removed (`versionId` null). */
  'model:aliased': { name: string; alias: string; versionId: string | null };
  /** The registry's recommendation index was rebuilt from storage. */
  'registry:index-rebuilt': { reason: string; items: number; embedder: string; dimensions: number };
}

declare module '@tunekit/core' {
  /** Core's event map, with the registry's events merged in. */
  interface TunekitEventMap extends RegistryEventMap {}
}
