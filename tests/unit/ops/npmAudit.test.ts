import { expect } from 'chai';
import { classifyAudit } from '../../../scripts/npm-audit.js';

const report = (vulnerabilities: Record<string, number>) =>
  JSON.stringify({ auditReportVersion: 2, vulnerabilities: {}, metadata: { vulnerabilities } });

describe('npm audit in CI', () => {
  it('a registry that refuses the audit endpoint (405) is a skip with the reason, not a failure', () => {
    const stdout = JSON.stringify({
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
      body: '',
      error: { summary: '', detail: '' },
    });
    const verdict = classifyAudit({ code: 1, stdout, stderr: 'npm error audit endpoint returned an error\n' });
    expect(verdict).to.deep.equal({
      kind: 'skipped',
      reason: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
    });
  });

  it('no network is a skip that says why', () => {
    const verdict = classifyAudit({
      code: 1,
      stdout: '',
      stderr: 'npm error code ENOTFOUND\nnpm error A complete log of this run can be found in: /x.log\n',
    });
    expect(verdict).to.deep.equal({ kind: 'skipped', reason: 'code ENOTFOUND' });
  });

  it('a high or critical finding fails', () => {
    const verdict = classifyAudit({
      code: 1,
      stdout: report({ info: 0, low: 1, moderate: 0, high: 2, critical: 0, total: 3 }),
      stderr: '',
    });
    expect(verdict).to.deep.equal({ kind: 'failed', summary: '1 low, 2 high' });
    expect(classifyAudit({ code: 1, stdout: report({ critical: 1, total: 1 }), stderr: '' }).kind).to.equal('failed');
  });

  it('findings below high pass and are reported', () => {
    expect(classifyAudit({ code: 0, stdout: report({ low: 0, moderate: 3, total: 3 }), stderr: '' })).to.deep.equal({
      kind: 'passed',
      summary: '3 moderate (below high)',
    });
    expect(classifyAudit({ code: 0, stdout: report({ high: 0, total: 0 }), stderr: '' })).to.deep.equal({
      kind: 'passed',
      summary: 'no known vulnerabilities',
    });
  });
});
