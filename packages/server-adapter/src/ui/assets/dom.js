// DOM helpers of the web UI. Values from the server are always set as text (never as HTML); the one
// exception, model cards, goes through markdown.js.

/** Creates an element: `element('a', { href: '#/jobs' }, 'Jobs')`; `on…` attributes add listeners. */
export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, '');
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A labelled form field: `field('Name', { name: 'name', required: true })`. */
export function field(label, attributes, tag = 'input') {
  const id = `field-${attributes.name}`;
  return [element('label', { for: id }, label), element(tag, { id, ...attributes })];
}

/** A table with a header row and one row per item. */
export function table(caption, headings, rows) {
  return element(
    'table',
    {},
    element('caption', {}, caption),
    element(
      'thead',
      {},
      element(
        'tr',
        {},
        headings.map((heading) => element('th', { scope: 'col' }, heading)),
      ),
    ),
    element(
      'tbody',
      {},
      rows.map((cells) =>
        element(
          'tr',
          {},
          cells.map((cell) => element('td', {}, cell)),
        ),
      ),
    ),
  );
}

/** A definition list from `[term, value]` pairs. */
export function definitions(pairs, attributes = {}) {
  return element(
    'dl',
    attributes,
    pairs.flatMap(([term, value]) => [element('dt', {}, term), element('dd', {}, value)]),
  );
}

export function formatDate(value) {
  return value ? new Date(value).toLocaleString() : '';
}

/** A number with at most `digits` significant digits (empty for null). */
export function formatNumber(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return '';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(digits)));
}

export function statusBadge(status) {
  return element('span', { class: `status-${status}`, 'data-status': status }, status);
}
