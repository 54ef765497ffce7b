import type { ChannelAdapter, ChannelLimits, ChannelSink } from '#application/messaging/channel.js';

/**
 * The simulator channel: a number whose contacts are people typing in the console (or tests driving
 * the pipeline). Inbound comes from POST /api/simulator/messages; a send is "delivered" at once, and a
 * moment later reports `delivered` through the same sink a real channel's status webhook would use,
 * so the console shows statuses arriving. The provider id carries our message id.
 */
export const SIMULATOR_LIMITS: ChannelLimits = {
  messagesPerSecond: 1_000,
  minGapPerRecipientMs: 0,
  maxTextLength: 4_096,
};

export type SimulatorOptions = {
  sink: ChannelSink;
  /** ms before the `delivered` status (default 200; null: none) */
  deliveredAfterMs?: number | null;
  onError?: (error: unknown) => void;
  clock?: () => Date;
};

export const createSimulatorChannel = (numberId: string, options: SimulatorOptions): ChannelAdapter => {
  const deliveredAfterMs = options.deliveredAfterMs === undefined ? 200 : options.deliveredAfterMs;
  const clock = options.clock ?? (() => new Date());
  return {
    kind: 'simulator',
    limits: SIMULATOR_LIMITS,
    send(request) {
      const providerMessageId = `sim.${request.messageId}`;
      if (deliveredAfterMs !== null) {
        const timer = setTimeout(() => {
          options.sink
            .status({
              numberId,
              providerMessageId,
              messageId: request.messageId,
              recipient: request.to,
              status: 'delivered',
              at: clock().toISOString(),
              error: null,
            })
            .catch((error: unknown) => options.onError?.(error));
        }, deliveredAfterMs);
        timer.unref();
      }
      return Promise.resolve({ status: 'sent', providerMessageId });
    },
  };
};
