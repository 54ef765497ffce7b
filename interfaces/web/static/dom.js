// Building DOM without innerHTML: text always goes through text nodes, so data from the API (usernames,
// stream names, correlation ids) can never become markup. No style attributes either (strict CSP).

/**
 * h('button', { class: 'btn', onclick: fn, 'data-id': id }, 'text', child)
 * props: class, text, on<event>, dataset, boolean attributes as true; null/false/undefined are skipped.
 */
export const h = (tag, props = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'style') throw new Error('inline styles are refused by the CSP: use a class');
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
};

export const $ = (selector, root = document) => {
  const el = root.querySelector(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
};

export const clear = (el) => {
  el.replaceChildren();
  return el;
};

/** Shows a message in an alert element (role=alert/status in the HTML), or hides it when text is empty. */
export const say = (el, text, kind = 'error') => {
  el.textContent = text ?? '';
  el.hidden = !text;
  el.classList.toggle('alert-error', kind === 'error');
  el.classList.toggle('alert-ok', kind === 'ok');
  el.classList.toggle('alert-info', kind === 'info');
};

/**
 * A name as people should see it: control characters, bidi overrides and lone surrogates written as
 * \uXXXX, so a username cannot reorder the text around it (the server stores and logs them the same way).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ODD =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
export const printable = (text) =>
  String(text ?? '').replace(ODD, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
