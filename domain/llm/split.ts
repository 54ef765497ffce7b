/**
 * Splits a reply into WhatsApp messages of at most `limit` characters (4096 is WhatsApp's text
 * limit), cutting after a sentence end when there is one in the part, else after a line break, else
 * at a space, and only as a last resort inside a word. Surrogate pairs are never cut in half.
 */
export const WHATSAPP_TEXT_LIMIT = 4096;

const SENTENCE_END = /[.!?…。！？]["')\]»”’]*\s+/g;

const lastCut = (part: string): number => {
  let cut = -1;
  for (const match of part.matchAll(SENTENCE_END)) cut = match.index + match[0].length;
  if (cut > 0) return cut;
  const newline = part.lastIndexOf('\n');
  if (newline > 0) return newline + 1;
  const space = part.lastIndexOf(' ');
  if (space > 0) return space + 1;
  return -1;
};

export const splitForWhatsApp = (text: string, limit = WHATSAPP_TEXT_LIMIT): string[] => {
  if (!Number.isInteger(limit) || limit < 2) throw new RangeError('limit must be an integer of at least 2');
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    let window = rest.slice(0, limit);
    // a window ending on a high surrogate would split a pair
    if (/[\uD800-\uDBFF]$/.test(window)) window = window.slice(0, -1);
    // the text right after the window starting with a space means the window ends a sentence cleanly
    const cut =
      /\s/.test(rest.charAt(window.length)) && /[.!?…]["')\]»”’]*$/.test(window) ? window.length : lastCut(window);
    const at = cut > 0 ? cut : window.length;
    const part = rest.slice(0, at).trim();
    if (part !== '') parts.push(part);
    rest = rest.slice(at).trimStart();
  }
  if (rest !== '') parts.push(rest);
  return parts;
};
