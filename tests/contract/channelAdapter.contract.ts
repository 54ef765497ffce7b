import { expect } from 'chai';
import type { ChannelAdapter, SendOutcome, SendRequest } from '#application/messaging/channel.js';

/** One adapter wired to a provider the test controls (a local server, the simulator's own state). */
export type ChannelHarness = {
  adapter: ChannelAdapter;
  /** a number id the adapter can send from */
  numberId: string;
  /** a recipient in the adapter's format (E.164 digits, or a JID) */
  recipient: string;
  /** the provider answers the next send with a refusal that retrying cannot fix */
  refuseNextPermanently: () => void;
  /** the provider answers the next send with a temporary failure (rate limit, outage) */
  failNextTemporarily: () => void;
  /** the message ids (ours) the provider received, in order */
  receivedMessageIds: () => string[];
  teardown: () => Promise<void>;
};

export type ChannelHarnessFactory = () => Promise<ChannelHarness>;

/** The behaviour every channel adapter must have; run once per adapter kind. */
export const channelAdapterContract = (name: string, factory: ChannelHarnessFactory): void => {
  describe(`channel adapter contract: ${name}`, function () {
    this.timeout(20_000);
    let h: ChannelHarness;
    let seq = 0;
    const request = (overrides: Partial<SendRequest> = {}): SendRequest => ({
      messageId: `00000000-0000-4000-8000-${String((seq += 1)).padStart(12, '0')}`,
      numberId: h.numberId,
      to: h.recipient,
      content: { kind: 'text', text: 'contract test message' },
      attempt: 1,
      ...overrides,
    });
    const failure = (outcome: SendOutcome) => {
      if (outcome.status !== 'failed') throw new Error(`expected a failure, got ${JSON.stringify(outcome)}`);
      return outcome;
    };

    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.teardown();
    });

    it('declares its kind and usable limits', () => {
      expect(['simulator', 'cloud', 'web']).to.include(h.adapter.kind);
      for (const value of Object.values(h.adapter.limits)) expect(value).to.be.a('number').and.greaterThan(0);
    });

    it('a text send returns sent with a provider message id, and the provider received our message id', async () => {
      const sent = request();
      const outcome = await h.adapter.send(sent);
      expect(outcome.status).to.equal('sent');
      expect(outcome.status === 'sent' && outcome.providerMessageId)
        .to.be.a('string')
        .and.not.equal('');
      expect(h.receivedMessageIds()).to.deep.equal([sent.messageId]);
    });

    it('two sends get two different provider message ids', async () => {
      const first = await h.adapter.send(request());
      const second = await h.adapter.send(request());
      expect(first.status === 'sent' && second.status === 'sent').to.equal(true);
      expect(first).not.to.deep.equal(second);
    });

    it('a permanent refusal is returned as a failure that is not retryable, not thrown', async () => {
      h.refuseNextPermanently();
      const outcome = failure(await h.adapter.send(request()));
      expect(outcome.retryable).to.equal(false);
      expect(outcome.code).to.be.a('string').and.not.equal('');
      expect(outcome.message).to.be.a('string');
    });

    it('a temporary failure is returned as a retryable failure, and the next send goes through', async () => {
      h.failNextTemporarily();
      expect(failure(await h.adapter.send(request())).retryable).to.equal(true);
      expect((await h.adapter.send(request())).status).to.equal('sent');
    });
  });
};
