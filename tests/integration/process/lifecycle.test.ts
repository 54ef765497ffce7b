import { expect } from 'chai';
import { auditFactsOf } from '#projections/audit/auditEntries.js';
import { processInstance, recordProcessEvent } from '#interfaces/process/lifecycle.js';
import { uniqueName } from '../../support/events.js';
import { dropSchema, openTestSchema, type TestSchema } from '../../support/projections.js';
import { manualRuntime } from '../../support/runtime.js';

describe('process lifecycle events', function () {
  this.timeout(30_000);
  let schema: TestSchema;

  before(async () => {
    schema = await openTestSchema(uniqueName('lifecycle'), { create: true });
  });
  after(async () => {
    await schema.close();
    await dropSchema(schema.schema);
  });

  // Regression: the audit mapping read pid/host/instanceId while lifecycle.ts wrote name/instance/role,
  // so every process.started entry had empty details.
  it('a recorded ProcessStarted reads in the audit trail with the instance and role the process wrote', async () => {
    const runtime = manualRuntime('2026-05-01T08:00:00.000Z');
    await recordProcessEvent(schema.store, runtime, 'ProcessStarted', { name: 'scheduler', role: 'embedded' });
    await recordProcessEvent(schema.store, runtime, 'ProcessStopped', { name: 'scheduler', role: 'embedded' });
    const [started, stopped] = await schema.store.readStream('process-scheduler');
    expect(started).to.include({ type: 'ProcessStarted', id: '00000000-0000-4000-8000-000000000001' });
    expect(started!.metadata.occurredAt).to.equal('2026-05-01T08:00:00.000Z');
    expect(auditFactsOf(started!)).to.deep.include({
      action: 'process.started',
      target: 'scheduler',
      details: { instance: processInstance(), role: 'embedded' },
    });
    expect(auditFactsOf(stopped!)).to.deep.include({
      action: 'process.stopped',
      target: 'scheduler',
      details: { instance: processInstance(), role: 'embedded' },
    });
  });
});
