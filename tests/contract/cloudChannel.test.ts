import { createCloudAdapter } from '#infrastructure/channels/cloud/graphClient.js';
import { startGraphServer } from '../support/graphServer.js';
import { channelAdapterContract } from './channelAdapter.contract.js';

channelAdapterContract('cloud (local Graph API server)', async () => {
  const graph = await startGraphServer();
  const adapter = createCloudAdapter({
    graphUrl: graph.url,
    apiVersion: 'v21.0',
    credentials: () => ({ phoneNumberId: '106540352242922', accessToken: 'contract-token' }),
    clock: () => new Date('2026-11-29T10:00:00Z'),
    timeoutMs: 2_000,
  });
  return {
    adapter,
    numberId: 'cloud-number',
    recipient: '34600111222',
    refuseNextPermanently: () => graph.enqueue({ kind: 'error', code: 131026 }),
    failNextTemporarily: () => graph.enqueue({ kind: 'error', code: 130429 }),
    receivedMessageIds: () =>
      graph.requests.map((request) => (request.body as { biz_opaque_callback_data: string }).biz_opaque_callback_data),
    teardown: () => graph.close(),
  };
});
