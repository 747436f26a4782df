import type { ModelCard, ModelVersion } from '@tunekit/core';
import type { RegistryStore } from '../registry-store.js';
import { buildModelCard } from './build-model-card.js';
import { renderModelCard } from './render-model-card.js';

/**
 * The folder of a version's card: its own folder when the version is stored in the artifact store
 * (next to the file when the artifact is a file), else `<cardsFolder>/<name>/<n>`.
 */
export async function cardFolderOf(store: RegistryStore, version: ModelVersion): Promise<string> {
  const uri = version.artifactUri.replace(/\/+$/, '');
  if (!uri.startsWith('artifact://')) return `${store.cardsFolder}/${version.name}/${version.versionNumber}`;
  try {
    const info = await store.artifacts.stat(uri);
    if (info !== undefined) {
      // The artifact is a file: put the card next to it.
      const slash = uri.lastIndexOf('/');
      return slash > 'artifact://'.length
        ? uri.slice(0, slash)
        : `${store.cardsFolder}/${version.name}/${version.versionNumber}`;
    }
    return uri;
  } catch {
    return `${store.cardsFolder}/${version.name}/${version.versionNumber}`;
  }
}

/** Builds, validates, stores and renders the card of a version (`README.md` and `model-card.json`). */
export async function writeModelCard(store: RegistryStore, version: ModelVersion): Promise<ModelCard> {
  const card = await store.cards.set(buildModelCard(version));
  const folder = version.cardUri
    ? version.cardUri.replace(/\/README\.md$/, '')
    : await cardFolderOf(store, version);
  await store.artifacts.put(`${folder}/README.md`, renderModelCard(card));
  await store.artifacts.put(`${folder}/model-card.json`, `${JSON.stringify(card, null, 2)}\n`);
  return card;
}
