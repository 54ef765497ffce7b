import type { ChannelAdapter, ChannelLimits } from '#application/messaging/channel.js';
import type { ChannelFactory } from '#application/messaging/ports.js';

/**
 * A connection-holding channel for runtime-control tests: a real object implementing the channel port,
 * lifecycle included (open/close/logout, as the Web channel has), that records every call per number in
 * the order the worker made them, and "sends" by recording. `failNext` makes the next lifecycle call throw;
 * `refuse` names recipients whose sends fail for good (dead letters).
 */
export const RECORDING_LIMITS: ChannelLimits = {
  messagesPerSecond: 10_000,
  minGapPerRecipientMs: 0,
  maxTextLength: 4096,
};

export type RecordedCall = { numberId: string; call: 'open' | 'close' | 'logout'; at: number };

export const recordingChannels = (options: { refuse?: (to: string) => boolean } = {}) => {
  const calls: RecordedCall[] = [];
  const sent: Array<{ numberId: string; messageId: string; at: number }> = [];
  const failNext = new Map<string, string>();
  const connected = new Map<string, boolean>();
  const lifecycle = (numberId: string, call: RecordedCall['call']) => {
    calls.push({ numberId, call, at: Date.now() });
    const failure = failNext.get(`${numberId}:${call}`);
    if (failure !== undefined) {
      failNext.delete(`${numberId}:${call}`);
      return Promise.reject(new Error(failure));
    }
    connected.set(numberId, call === 'open');
    return Promise.resolve();
  };
  const factory: ChannelFactory = (number) =>
    Promise.resolve<ChannelAdapter>({
      kind: number.kind,
      limits: RECORDING_LIMITS,
      send(request) {
        if (connected.get(number.numberId) !== true)
          return Promise.resolve({ status: 'failed', retryable: true, code: 'not_connected', message: 'closed' });
        // a recipient the "provider" refuses for good (Meta's 131026, undeliverable): dead-lettered at once
        if (options.refuse?.(request.to))
          return Promise.resolve({ status: 'failed', retryable: false, code: '131026', message: 'undeliverable' });
        sent.push({ numberId: number.numberId, messageId: request.messageId, at: Date.now() });
        return Promise.resolve({ status: 'sent', providerMessageId: `rec.${request.messageId}` });
      },
      open: () => lifecycle(number.numberId, 'open'),
      close: () => lifecycle(number.numberId, 'close'),
      logout: () => lifecycle(number.numberId, 'logout'),
    });
  return {
    factory,
    calls,
    sent,
    /** the calls made for one number, in order */
    of: (numberId: string) => calls.filter((c) => c.numberId === numberId).map((c) => c.call),
    failNext: (numberId: string, call: RecordedCall['call'], message: string) =>
      failNext.set(`${numberId}:${call}`, message),
  };
};
