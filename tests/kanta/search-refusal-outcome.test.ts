// Kanta PHR mode's search refusals: a parameter name is the client's text (masked like any text that
// may quote a HETU), and in a batch entry a query's issue names the element that holds the query,
// `Bundle.entry[i].request.url` — not `Bundle.entry[i].<parameter>`, which no Bundle has.
import type { OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import { batch, call, phrPatient, startSandboxHere } from './helpers.ts';

const HETU = '010181-900C';
let remoteStore: Store;
let sandbox: RunningServer;
let base: string;

beforeAll(async () => {
  ({ remoteStore, sandbox } = await startSandboxHere());
  base = `${sandbox.url}/fhir`;
});
afterAll(async () => {
  await sandbox?.close();
  await remoteStore?.close();
});

describe('Kanta PHR search refusals', () => {
  it('a HETU written as a parameter name is masked wherever the refusal names it', async () => {
    const r = await call(base, 'GET', `/Observation?${HETU}=1&patient=Patient/x`);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).not.toContain(HETU);
    expect(r.body.issue[0].expression).toEqual(['[HETU]']);
  });

  it("in a batch, a query's refusals name the entry's request.url", async () => {
    const r = await call(
      base,
      'POST',
      '',
      batch([
        { request: { method: 'GET', url: `Patient?identifier=${HETU}` } },
        { request: { method: 'GET', url: `Observation?${HETU}=1&patient=Patient/x` } },
        { request: { method: 'GET', url: 'Observation?code=x' } },
        { request: { method: 'GET', url: 'Observation?patient:missing=false' } },
      ]),
    );
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).not.toContain(HETU);
    r.body.entry.forEach((e: any, i: number) => {
      expect(e.response.status).toBe('400');
      expect(e.response.outcome.issue.map((x: any) => x.expression)).toEqual([
        [`Bundle.entry[${i}].request.url`],
      ]);
    });
  });
});

describe("Kanta PHR mode: the facade's shape checks quote nothing sent (tests/server/refusals-quote-nothing.test.ts)", () => {
  const MARK = 'SuviVirtanen';
  const issueOf = (r: { status: number; body: OperationOutcome }, status: number) => {
    expect(r.status).toBe(status);
    expect(JSON.stringify(r.body)).not.toContain('Suvi');
    return r.body.issue?.[0];
  };

  it('a resourceType that is no type, a malformed id, one not the URL id', async () => {
    const type = await call(base, 'POST', '/Patient', { ...phrPatient(), resourceType: MARK });
    expect(issueOf(type, 400)).toMatchObject({ code: 'invalid', expression: ['resourceType'] });
    const id = await call(base, 'POST', '/Patient', { ...phrPatient(), id: 'Suvi Virtanen' });
    expect(issueOf(id, 400)).toMatchObject({ code: 'invalid', expression: ['Patient.id'] });
    const url = await call(base, 'GET', '/Patient/Suvi%20Virtanen');
    expect(issueOf(url, 400)).toMatchObject({ code: 'invalid', expression: ['Patient.id'] });
    const other = await call(
      base,
      'PUT',
      `/Patient/${MARK}1`,
      { ...phrPatient(), id: `${MARK}2` },
      {
        'If-Match': 'W/"1"',
      },
    );
    expect(issueOf(other, 400)).toMatchObject({ code: 'invalid', expression: ['Patient.id'] });
  });
});
