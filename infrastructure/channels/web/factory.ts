import type { Knex } from 'knex';
import type { SecretCipher } from '#application/secrets/ports.js';
import type { KindFactory } from '../registry.js';
import { guardLibsignalConsole } from './consoleGuard.js';
import type { WebChannel, WebChannelDeps } from './webChannel.js';

/**
 * baileys (with libsignal, its protobuf definitions and a WebAssembly bridge: about 50 MiB of a process)
 * is loaded when the first number of kind `web` gets an adapter, not when the process starts.
 */
const loadWebAdapter = async () => {
  const [{ createWebChannel }, { pgWebAuthStore }] = await Promise.all([
    import('./webChannel.js'),
    import('./authState.js'),
  ]);
  return { createWebChannel, pgWebAuthStore };
};

export type WebChannels = {
  /** the registry's factory for kind `web` */
  factory: KindFactory;
  /** the adapters made so far, by number */
  channels(): ReadonlyMap<string, WebChannel>;
  /** closes every socket (the session stays stored: the next start resumes it) */
  closeAll(): Promise<void>;
};

/**
 * Builds a Web adapter per number of kind `web`, each with its own session store. Without FERNET_KEYS
 * there is nowhere safe to keep a session, so no adapter is built (the number is then not served, and
 * the worker says why once).
 */
export const createWebChannels = (
  deps: Pick<
    WebChannelDeps,
    'store' | 'runtime' | 'log' | 'queries' | 'workerId' | 'settings' | 'newCorrelationId' | 'printQr'
  > & {
    knex: Knex;
    cipher: SecretCipher | null;
    /** open the socket when the adapter is made; default false (the dispatcher opens it when it takes the number) */
    openOnCreate?: boolean;
  },
): WebChannels => {
  const made = new Map<string, WebChannel>();
  let warned = false;
  const factory: KindFactory = async (number, sink) => {
    const cipher = deps.cipher;
    if (cipher === null) {
      if (!warned) deps.log.warn('whatsapp web numbers need FERNET_KEYS to keep their session: not served', {});
      warned = true;
      return null;
    }
    const { createWebChannel, pgWebAuthStore } = await loadWebAdapter();
    guardLibsignalConsole(deps.log);
    const previous = made.get(number.numberId);
    // the dispatcher dropped the adapter (lease lost) and asks again: the old socket must not linger
    if (previous) await previous.close?.();
    const channel = createWebChannel({
      numberId: number.numberId,
      sink,
      auth: pgWebAuthStore(deps.knex, cipher, number.numberId, deps.runtime.clock),
      store: deps.store,
      runtime: deps.runtime,
      log: deps.log,
      queries: deps.queries,
      workerId: deps.workerId,
      settings: deps.settings,
      newCorrelationId: deps.newCorrelationId,
      printQr: deps.printQr,
    });
    made.set(number.numberId, channel);
    if (deps.openOnCreate ?? false) await channel.open?.();
    return channel;
  };
  return {
    factory,
    channels: () => made,
    closeAll: async () => {
      await Promise.all(
        [...made.values()].map(async (c) => {
          await c.close?.();
        }),
      );
    },
  };
};
