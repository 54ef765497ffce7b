import { createRequire } from 'node:module';
import type { parseConnectionString as ParseConnectionString } from '@eventstore/db-client/dist/Client/parseConnectionString.js';
import { envVar } from './fields.js';

// The client's parser pulls in its gRPC stack (about 80 modules): required only when EVENTSTORE_URL is set.
const require = createRequire(import.meta.url);
const parseConnectionString: typeof ParseConnectionString = (connectionString) =>
  (
    require('@eventstore/db-client/dist/Client/parseConnectionString.js') as {
      parseConnectionString: typeof ParseConnectionString;
    }
  ).parseConnectionString(connectionString);

/**
 * EVENTSTORE_URL: whatever the EventStoreDB client accepts, checked by the client's own parser (a cluster
 * lists its nodes, `esdb://h1:2113,h2:2113,h3:2113`, which `new URL` refuses). Never echoed: it may
 * embed a password.
 */
export const eventStoreUrl = (required: string | null) =>
  envVar((value, report) => {
    const fix =
      'Set it like esdb://eventstore:2113?tls=false; for a cluster list the nodes, esdb://node1:2113,node2:2113,node3:2113, or use esdb+discover://cluster-dns:2113 for DNS discovery.';
    if (value === undefined) {
      if (required !== null) report(`missing (required because ${required})`, fix);
      return null;
    }
    const trimmed = value.trim();
    // The parser warns on the console about unknown option keys, printing the whole string (password
    // included); the client would do it again at every start. Caught here and refused, never printed.
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      if (parseConnectionString(trimmed).hosts.length === 0) throw new Error('no host');
      if (warnings.length > 0) report('has an option the EventStoreDB client does not know', fix);
    } catch {
      report('not an EventStoreDB connection string (esdb:// or esdb+discover://, one or more host:port)', fix);
    } finally {
      console.warn = warn;
    }
    return trimmed;
  });
