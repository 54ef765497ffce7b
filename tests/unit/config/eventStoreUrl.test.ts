import { expect } from 'chai';
import { inspect } from 'node:util';
import { ConfigError, loadConfig, redactedConfigSummary } from '#infrastructure/config/config.js';

const minimal = { JWT_SECRET: 'j'.repeat(40), ADMIN_PASSWORD: 'an admin password that is long enough' };

const refused = (url: string): ConfigError => {
  try {
    loadConfig({ ...minimal, EVENTSTORE_URL: url });
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`${url} was accepted`);
};

describe('configuration: EVENTSTORE_URL accepts what the EventStoreDB client accepts', () => {
  it('a single node, a cluster of several hosts, and DNS discovery', () => {
    for (const url of [
      'esdb://eventstore:2113?tls=false',
      'esdb://node1:2113,node2:2113,node3:2113?tls=false&nodePreference=leader',
      'esdb://admin:changeit@node1:2113,node2:2113',
      'esdb+discover://cluster.internal:2113',
    ]) {
      expect(loadConfig({ ...minimal, EVENTSTORE_URL: url }).eventStore, url).to.deep.equal({
        kind: 'eventstoredb',
        url,
      });
    }
  });

  it('refuses other schemes, a broken host list and unknown options, without echoing the string', () => {
    for (const url of [
      'https://secretpw1@es:2113',
      'esdb://',
      'esdb://u:secretpw1@a:b:c',
      'esdb://u:secretpw1@h1:2113,h2:2113?tlss=false',
    ]) {
      const error = refused(url);
      expect(
        error.issues.map((issue) => issue.variable),
        url,
      ).to.deep.equal(['EVENTSTORE_URL']);
      const everything = `${error.message}\n${JSON.stringify(error.issues)}\n${inspect(error)}`;
      expect(everything, url).not.to.include('secretpw1');
    }
  });
});

describe('configuration summary: a cluster EVENTSTORE_URL', () => {
  it('shows the scheme and hosts, never the user info or the options', () => {
    const config = loadConfig({
      ...minimal,
      EVENTSTORE_URL: 'esdb://admin:secretpw1@node1:2113,node2:2113?tls=false&userCertFile=/x',
    });
    const summary = redactedConfigSummary(config);
    expect(summary.eventStore).to.equal('eventstoredb (esdb://node1:2113,node2:2113)');
    expect(JSON.stringify(summary)).not.to.include('secretpw1');
  });
});
