import { expect } from 'chai';
import { splitForWhatsApp, WHATSAPP_TEXT_LIMIT } from '#domain/llm/split.js';

describe('splitForWhatsApp', () => {
  it('keeps a reply within the limit as one message', () => {
    expect(splitForWhatsApp('Hola. ¿Qué tal?')).to.deep.equal(['Hola. ¿Qué tal?']);
    expect(WHATSAPP_TEXT_LIMIT).to.equal(4096);
  });

  it('cuts after the last sentence end that fits, never mid-sentence when a sentence end exists', () => {
    const parts = splitForWhatsApp('Primera frase. Segunda frase más larga! ¿Tercera? Cuarta.', 30);
    expect(parts).to.deep.equal(['Primera frase.', 'Segunda frase más larga!', '¿Tercera? Cuarta.']);
    for (const part of parts) expect(part.length).to.be.at.most(30);
  });

  it('splits a 10,000-character reply into parts of at most 4096 that rejoin to the whole text', () => {
    const sentence = 'El horario de la tienda es de nueve a dos. ';
    const text = sentence.repeat(Math.ceil(10_000 / sentence.length)).trim();
    const parts = splitForWhatsApp(text);
    expect(parts.length).to.equal(3);
    for (const part of parts) {
      expect(part.length).to.be.at.most(4096);
      expect(part.endsWith('.')).to.equal(true);
    }
    expect(parts.join(' ')).to.equal(text);
  });

  it('falls back to a line break, then a space, then a hard cut for a sentence longer than the limit', () => {
    expect(splitForWhatsApp('uno dos\ntres cuatro', 12)).to.deep.equal(['uno dos', 'tres cuatro']);
    expect(splitForWhatsApp('palabra otra palabra', 10)).to.deep.equal(['palabra', 'otra', 'palabra']);
    expect(splitForWhatsApp('x'.repeat(25), 10)).to.deep.equal(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('never splits an emoji (a surrogate pair) in two', () => {
    const parts = splitForWhatsApp('😀'.repeat(7), 5);
    for (const part of parts) expect(part).to.match(/^(😀)+$/u);
    expect(parts.join('')).to.equal('😀'.repeat(7));
  });
});
