import type { ChannelAdapter, ChannelSink } from '#application/messaging/channel.js';
import type { ChannelFactory, NumberInfo } from '#application/messaging/ports.js';
import type { ChannelKind } from '#domain/messaging/events.js';
import { createSimulatorChannel, type SimulatorOptions } from './simulator/simulatorChannel.js';

/** Builds the adapter of one number of a kind; null when this build or configuration cannot serve it. */
export type KindFactory = (number: NumberInfo, sink: ChannelSink) => Promise<ChannelAdapter | null>;

/**
 * Number kind -> adapter. A new channel is one folder under infrastructure/channels/ and one entry
 * here (the Cloud API's factory comes from infrastructure/channels/cloud/, the Web one from issue 10).
 */
export const createChannelFactory = (
  factories: Partial<Record<ChannelKind, KindFactory>> & { simulator?: KindFactory },
  simulator: Omit<SimulatorOptions, 'sink'> = {},
): ChannelFactory => {
  const all: Partial<Record<ChannelKind, KindFactory>> = {
    simulator: (number, sink) => Promise.resolve(createSimulatorChannel(number.numberId, { ...simulator, sink })),
    ...factories,
  };
  return (number, sink) => all[number.kind]?.(number, sink) ?? Promise.resolve(null);
};
