// Markdown of model cards, rendered as untrusted text: markdown-it (vendored as markdown-it.js, MIT;
// no CDN) with raw HTML off, so `<script>` or `<img onerror>` in a description is shown as text, and
// its link check, so `javascript:` links are not links. The HTML it returns is then parsed inertly
// (DOMParser runs no script) and copied element by element through an allow-list, so nothing but
// plain formatting, http(s)/relative links and images reaches the page, whatever the renderer does.
import './markdown-it.js';

const renderer = globalThis.markdownit({ html: false, linkify: false, typographer: false });

/** Elements a model card may contain; anything else is replaced by its text. */
const allowedTags = new Set([
  'a',
  'blockquote',
  'br',
  'code',
  'del',
  'em',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'img',
  'li',
  'ol',
  'p',
  'pre',
  's',
  'strong',
  'table',
  'tbody',
  'td',
  'th',
  'thead',
  'tr',
  'ul',
]);
/** Attributes kept, per element (links and images are checked again below). */
const allowedAttributes = {
  a: ['href', 'title'],
  img: ['src', 'alt', 'title'],
  td: ['style'],
  th: ['style'],
};
const safeUrl = /^(https?:|#|\/|\.\.?\/|[^:]*$)/i;

function copySafely(source, target) {
  for (const child of source.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      target.append(child.textContent);
      continue;
    }
    if (child.nodeType !== Node.ELEMENT_NODE) continue;
    const tag = child.tagName.toLowerCase();
    if (!allowedTags.has(tag)) {
      target.append(child.textContent);
      continue;
    }
    const copy = document.createElement(tag);
    for (const name of allowedAttributes[tag] ?? []) {
      const value = child.getAttribute(name);
      if (value === null) continue;
      if ((name === 'href' || name === 'src') && !safeUrl.test(value.trim())) continue;
      if (name === 'style' && !/^text-align:(left|right|center)$/.test(value)) continue;
      copy.setAttribute(name, value);
    }
    if (tag === 'a') copy.setAttribute('rel', 'noopener noreferrer nofollow');
    copySafely(child, copy);
    target.append(copy);
  }
}

/**
 * Renders markdown into a new `<div class="markdown">`. A leading YAML front matter block (the
 * Hub metadata of a README.md) is shown as a preformatted block, not as markdown.
 */
export function renderMarkdown(text) {
  const container = document.createElement('div');
  container.className = 'markdown';
  let body = text;
  const frontMatter = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (frontMatter) {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = 'Metadata (front matter)';
    const pre = document.createElement('pre');
    pre.textContent = frontMatter[1];
    details.append(summary, pre);
    container.append(details);
    body = text.slice(frontMatter[0].length);
  }
  const parsed = new DOMParser().parseFromString(renderer.render(body), 'text/html');
  copySafely(parsed.body, container);
  return container;
}
