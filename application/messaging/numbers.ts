import { handleCommand, type CommandContext } from '#application/shared/commandHandler.js';
import { loadAggregateCached } from '#application/shared/aggregateCache.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import { NumberAlreadyExists, NumberDisabledError, NumberNotFound } from '#domain/messaging/errors.js';
import { numberStreamId, type ChannelKind } from '#domain/messaging/events.js';
import { numberDecider, type NumberState } from '#domain/messaging/number.js';
import type { MessagingLog, NumberInfo } from './ports.js';

export type NumbersDeps = {
  store: EventStore;
  runtime: Runtime;
  log: MessagingLog;
  /** stores a credential as a Fernet secret (the secrets context); returns the secret's name */
  storeCredential?: (numberId: string, value: string, context: CommandContext) => Promise<string>;
};

export type NumberInput = {
  numberId: string;
  name: string;
  kind: ChannelKind;
  phoneNumberId?: string | null;
  /** the channel's credential (Cloud API access token): stored as a Fernet secret, never in events */
  accessToken?: string | null;
};

const infoOf = (state: NumberState): NumberInfo | null =>
  state.status === 'active' || state.status === 'disabled'
    ? {
        numberId: state.numberId,
        name: state.name,
        kind: state.kind,
        status: state.status,
        credentialsSecret: state.credentialsSecret,
        phoneNumberId: state.phoneNumberId,
      }
    : null;

/** The number from its own stream (not the read model): right after it was added, too (cached fold + tail). */
export const loadNumber = async (store: EventStore, numberId: string): Promise<NumberInfo | null> =>
  infoOf((await loadAggregateCached(store, numberStreamId(numberId), numberDecider)).state);

/** An active number, or a 404/409 that says why not. */
export const activeNumber = async (store: EventStore, numberId: string): Promise<NumberInfo> => {
  const number = await loadNumber(store, numberId);
  if (number === null) throw new NumberNotFound(numberId);
  if (number.status !== 'active') throw new NumberDisabledError(numberId);
  return number;
};

export const addNumber = async (
  deps: NumbersDeps,
  input: NumberInput,
  context: CommandContext,
  options: { ifAbsent?: boolean } = {},
): Promise<{ created: boolean; number: NumberInfo }> => {
  // Refuse a duplicate before its credential could overwrite the existing number's secret.
  const existing = await loadNumber(deps.store, input.numberId);
  if (existing !== null) {
    if (options.ifAbsent) return { created: false, number: existing };
    throw new NumberAlreadyExists(input.numberId);
  }
  const credentialsSecret =
    input.accessToken && deps.storeCredential
      ? await deps.storeCredential(input.numberId, input.accessToken, context)
      : null;
  const result = await handleCommand(
    deps.store,
    numberStreamId(input.numberId),
    numberDecider,
    () => ({
      type: 'AddNumber' as const,
      data: {
        numberId: input.numberId,
        name: input.name,
        kind: input.kind,
        credentialsSecret,
        phoneNumberId: input.phoneNumberId ?? null,
        by: context.actor,
        ifAbsent: options.ifAbsent ?? false,
      },
    }),
    context,
    { runtime: deps.runtime },
  );
  if (result.events.length > 0) deps.log.info('number added', { numberId: input.numberId, kind: input.kind });
  return { created: result.events.length > 0, number: infoOf(result.state)! };
};

const change =
  (type: 'DisableNumber' | 'EnableNumber' | 'RemoveNumber', logLine: string) =>
  async (deps: NumbersDeps, numberId: string, context: CommandContext): Promise<boolean> => {
    const result = await handleCommand(
      deps.store,
      numberStreamId(numberId),
      numberDecider,
      () => ({ type, data: { numberId, by: context.actor } }),
      context,
      { runtime: deps.runtime },
    );
    if (result.events.length > 0) deps.log.info(logLine, { numberId });
    return result.events.length > 0;
  };

export const disableNumber = change('DisableNumber', 'number disabled');
export const enableNumber = change('EnableNumber', 'number enabled');
export const removeNumber = change('RemoveNumber', 'number removed');

/** What the configuration asks for at start (WHATSAPP_MODE and WHATSAPP_*). */
export type DefaultNumbers = {
  simulator: boolean;
  cloud: { phoneNumberId: string; accessToken: string | null } | null;
  /** WHATSAPP_WEB_NUMBER with WHATSAPP_MODE web or both: a number of kind `web`, paired from the console */
  web?: boolean;
};

export const SIMULATOR_NUMBER_ID = 'simulator';
export const CLOUD_NUMBER_ID = 'cloud';
export const WEB_NUMBER_ID = 'web';

/**
 * Creates the configured default numbers when they do not exist yet (idempotent across restarts and
 * processes). Returns the id sends use when they name no number: the Cloud API number when there is
 * one, else the simulator.
 */
export const ensureDefaultNumbers = async (
  deps: NumbersDeps,
  defaults: DefaultNumbers,
  context: CommandContext,
): Promise<string | null> => {
  if (defaults.simulator)
    await addNumber(deps, { numberId: SIMULATOR_NUMBER_ID, name: 'Simulator', kind: 'simulator' }, context, {
      ifAbsent: true,
    });
  if (defaults.cloud) {
    const existing = await loadNumber(deps.store, CLOUD_NUMBER_ID);
    if (existing === null)
      await addNumber(
        deps,
        {
          numberId: CLOUD_NUMBER_ID,
          name: 'WhatsApp Cloud API',
          kind: 'cloud',
          phoneNumberId: defaults.cloud.phoneNumberId,
          // The token from WHATSAPP_ACCESS_TOKEN stays in the configuration (the adapter reads it
          // there); numbers added through the API keep theirs as Fernet secrets.
          accessToken: null,
        },
        context,
        { ifAbsent: true },
      );
  }
  if (defaults.web)
    await addNumber(deps, { numberId: WEB_NUMBER_ID, name: 'WhatsApp Web', kind: 'web' }, context, { ifAbsent: true });
  if (defaults.cloud) return CLOUD_NUMBER_ID;
  if (defaults.web) return WEB_NUMBER_ID;
  return defaults.simulator ? SIMULATOR_NUMBER_ID : null;
};
