// Kanta PHR mode's search refusals: a parameter name is the client's text (masked like any text that
// may quote a HETU), and in a batch entry a query's issue names the element that holds the query,
// `Bundle.entry[i].request.url` — not `Bundle.entry[i].<parameter>`, which no Bundle has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import { batch, call, startSandboxHere } from './helpers.ts';

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
