// Kanta PHR mode: an update without If-Match (allowed where Kanta's statement declares no versioned
// update: CarePlan, Questionnaire, QuestionnaireResponse) is a compare-and-set on the version it read.
// A delete that lands between its read and its write is not undone (the resource stays deleted, 410);
// another write landing there is written over (last writer wins), the body being the blind PUT's.
// The interleaving is made deterministic by a store that runs the other write right after the sandbox's
// read of the resource (the real store, the write done through it).
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { silent } from '../server/helpers.ts';
import { call as callAt, citizenResponse, firstIssue, phrPatient, urn } from './helpers.ts';

let store: Store;
let sandbox: RunningServer;
let base: string;
/** Runs once, right after the sandbox's next read of this resource (`Type/id`). */
const afterRead = new Map<string, () => Promise<unknown>>();

/** The store as the sandbox sees it: reads of a resource in `afterRead` run its write right after. */
function interleaving(real: Store): Store {
  return new Proxy(real, {
    get(target, name) {
      if (name === 'read')
        return async (type: string, id: string) => {
          const r = await target.read(type, id);
          const then = afterRead.get(`${type}/${id}`);
          afterRead.delete(`${type}/${id}`);
          if (then) await then();
          return r;
        };
      const v = Reflect.get(target, name, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  callAt(base, method, path, body, headers);

beforeAll(async () => {
  store = await openStore({ dataDir: 'memory://' });
  sandbox = await startServer({
    store: interleaving(store) as never,
    validator: (await loadProjectValidator()) as never,
    logger: silent,
    mode: 'kanta-phr',
  });
  base = `${sandbox.url}/fhir`;
});

afterAll(async () => {
  await sandbox?.close();
  await store?.close();
});

async function response(): Promise<QuestionnaireResponse & { id: string }> {
  const phr = (await call('POST', '/Patient', phrPatient())).body.id;
  const made = await call('POST', '/QuestionnaireResponse', citizenResponse(phr, urn()));
  expect(made.status).toBe(201);
  return made.body;
}

describe('Kanta PHR mode: an update without If-Match is a compare-and-set on the version it read', () => {
  it('a delete between its read and its write stays: the PUT is 410, the resource stays deleted', async () => {
    const qr = await response();
    afterRead.set(`QuestionnaireResponse/${qr.id}`, () => store.delete('QuestionnaireResponse', qr.id));
    const put = await call('PUT', `/QuestionnaireResponse/${qr.id}`, { ...qr, status: 'amended' });
    expect(put.status).toBe(410);
    expect(firstIssue(put)?.code).toBe('deleted');
    expect((await call('GET', `/QuestionnaireResponse/${qr.id}`)).status).toBe(410);
    expect((await store.history('QuestionnaireResponse', qr.id)).map((h) => h.action)).toEqual([
      'delete',
      'create',
    ]);
  });

  it('the same in a batch entry', async () => {
    const qr = await response();
    afterRead.set(`QuestionnaireResponse/${qr.id}`, () => store.delete('QuestionnaireResponse', qr.id));
    const entry = {
      resource: { ...qr, status: 'amended' },
      request: { method: 'PUT', url: `QuestionnaireResponse/${qr.id}` },
    };
    const b = await call('POST', '', { resourceType: 'Bundle', type: 'batch', entry: [entry] });
    expect(b.body.entry[0].response.status).toMatch(/^410/);
    expect((await call('GET', `/QuestionnaireResponse/${qr.id}`)).status).toBe(410);
  });

  it('another write between its read and its write is written over: last writer wins', async () => {
    const qr = await response();
    afterRead.set(`QuestionnaireResponse/${qr.id}`, () =>
      store.update({ ...qr, status: 'amended' } as never, { ifMatch: '1' }),
    );
    const mine = { ...qr, item: [{ linkId: 'overall', answer: [{ valueInteger: 2 }] }] };
    const put = await call('PUT', `/QuestionnaireResponse/${qr.id}`, mine);
    expect(put.status).toBe(200);
    expect(put.body.meta.versionId).toBe('3');
    const now = (await call('GET', `/QuestionnaireResponse/${qr.id}`)).body;
    expect(now.meta.versionId).toBe('3');
    expect(now.status).toBe('completed');
    expect(now.item[0].answer[0].valueInteger).toBe(2);
  });

  it('writes between each of its reads and its write: 409 kanta-version after a few tries, nothing written', async () => {
    const qr = await response();
    const key = `QuestionnaireResponse/${qr.id}`;
    let others = 0;
    const another = async () => {
      const now = await store.read<QuestionnaireResponse>('QuestionnaireResponse', qr.id);
      const status = now.status === 'amended' ? 'completed' : 'amended';
      await store.update({ ...now, status }, { ifMatch: now.meta?.versionId });
      others++;
      afterRead.set(key, another);
    };
    afterRead.set(key, another);
    const put = await call('PUT', `/QuestionnaireResponse/${qr.id}`, { ...qr, language: 'sv' });
    afterRead.delete(key);
    expect(put.status).toBe(409);
    expect(firstIssue(put)).toMatchObject({
      code: 'conflict',
      expression: ['QuestionnaireResponse.meta.versionId'],
      diagnostics: expect.stringMatching(/^kanta-version: .*send it again$/),
    });
    expect(others).toBe(5);
    const now = (await call('GET', `/QuestionnaireResponse/${qr.id}`)).body;
    expect(now.meta.versionId).toBe('6');
    expect(now.language).toBe('fi');
  });

  it('with If-Match, a write between its read and its write is a 412 (no retry: the client named a version)', async () => {
    const qr = await response();
    afterRead.set(`QuestionnaireResponse/${qr.id}`, () =>
      store.update({ ...qr, status: 'amended' } as never, { ifMatch: '1' }),
    );
    const put = await call('PUT', `/QuestionnaireResponse/${qr.id}`, qr, { 'If-Match': 'W/"1"' });
    expect(put.status).toBe(412);
    expect((await call('GET', `/QuestionnaireResponse/${qr.id}`)).body.meta.versionId).toBe('2');
  });
});
