import { expect } from 'chai';
import { buildPrompt, estimateMessageTokens, estimateTokens } from '#domain/llm/prompt.js';

const history = Array.from({ length: 50 }, (_, i) => ({
  role: i % 2 === 0 ? ('contact' as const) : ('bot' as const),
  text: `mensaje número ${i} `.repeat(10),
}));

describe('the prompt of a turn', () => {
  it('is the system prompt, the history oldest first, and the inbound text last', () => {
    expect(
      buildPrompt({
        systemPrompt: 'Sé breve.',
        history: [
          { role: 'contact', text: 'Hola' },
          { role: 'bot', text: '¡Hola!' },
        ],
        text: '¿Precio?',
        maxPromptTokens: 1000,
      }),
    ).to.deep.equal([
      { role: 'system', content: 'Sé breve.' },
      { role: 'user', content: 'Hola' },
      { role: 'assistant', content: '¡Hola!' },
      { role: 'user', content: '¿Precio?' },
    ]);
  });

  it('stays within the token budget by dropping the oldest turns first', () => {
    const messages = buildPrompt({ systemPrompt: 'Sé breve.', history, text: '¿Y ahora?', maxPromptTokens: 500 });
    expect(estimateMessageTokens(messages)).to.be.at.most(500);
    expect(messages.length).to.be.greaterThan(3);
    expect(messages.length).to.be.lessThan(history.length + 2);
    // the newest turn kept is the last of the history
    expect(messages[messages.length - 2]!.content).to.equal(history[49]!.text);
    expect(messages[messages.length - 1]).to.deep.equal({ role: 'user', content: '¿Y ahora?' });
  });

  it('cuts an inbound text larger than the whole budget instead of sending it', () => {
    const messages = buildPrompt({ systemPrompt: '', history, text: 'a'.repeat(100_000), maxPromptTokens: 300 });
    expect(messages).to.have.length(1);
    expect(estimateMessageTokens(messages)).to.be.at.most(300);
  });

  it('estimates about four characters per token', () => {
    expect(estimateTokens('')).to.equal(0);
    expect(estimateTokens('abcd')).to.equal(1);
    expect(estimateTokens('abcde')).to.equal(2);
  });
});
