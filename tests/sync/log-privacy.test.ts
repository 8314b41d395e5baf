// What the sync logs of a remote's refusal: the remote's diagnostics may quote what we sent (here our
// own facade, as the remote, quotes a code system back; other servers quote names and dates), so the log line of a dead letter and
// its reason name only issue codes and elements. The whole answer stays in the outbox row's outcome, in the
// store that holds the data anyway. Local PGlite store, a second tyokyky facade on PostgreSQL as the remote.
import { Writable } from 'node:stream';
import type { OperationOutcome, Patient } from '@medplum/fhirtypes';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import type { FacadeHere } from '../helpers/facade.ts';
import { consent, patient, score } from './helpers/fixtures.ts';
import { dropDatabase, freshDatabase, startRemote } from './helpers/remote.ts';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(String(chunk));
    done();
  },
});

let remoteDb: string;
let facade: FacadeHere;
let store: Store;
let sync: SyncService;

beforeAll(async () => {
  remoteDb = await freshDatabase('tyokyky_logprivacy_remote');
  facade = await startRemote(remoteDb);
  store = await openStore({ dataDir: 'memory://' });
  sync = createSync({
    store,
    remote: { baseUrl: facade.url, party: 'other-health-care', bundle: 'none' },
    logger: pino({ level: 'info' }, sink),
  });
  await sync.ready;
}, 120_000);
afterAll(async () => {
  await sync?.stop();
  await store?.close();
  await facade?.stop();
  if (remoteDb) await dropDatabase(remoteDb);
});

describe('a remote refusal in the log', () => {
  it('names codes and elements, never the quoted value; the outbox row keeps the whole answer', async () => {
    const p = (await store.create(patient('010181-931P'))).resource as Patient;
    await store.create(consent(p.id!));
    // A local code system: our facade refuses it, quoting the system ("… not a local reference ('…')").
    await store.create({
      ...score(p.id!),
      code: { coding: [{ system: 'tyokyky-local-system-9041', code: 'x' }] },
    });
    await sync.pushOnce();
    const [row] = await store.query<{ state: string; reason: string; outcome: OperationOutcome }>(
      `SELECT state, reason, outcome FROM sync_outbox WHERE resource_type = 'Observation'`,
    );
    expect(row.state).toBe('dead');
    // The remote listed a warning (the narrative has no lang) before the error that refused it.
    expect(row.outcome.issue?.map((i) => i.severity)).toEqual(['warning', 'error']);
    // The reason, which `sync dead-letters` and the held rows show, and the log line: the status and
    // the issues' codes and elements, errors first — never the remote's diagnostics.
    const issues =
      'error invalid at Observation.code.coding[0]; warning business-rule at Observation.text.div';
    expect(row.reason).toBe(`remote refused (HTTP 422): ${issues}`);
    const line = JSON.parse(lines.find((l) => l.includes('sync: dead letter')) ?? '{}');
    expect(line.issues).toBe(issues);
    // The remote did quote it: the test would prove nothing otherwise.
    expect(JSON.stringify(row.outcome)).toContain('tyokyky-local-system-9041');
    const log = lines.join('');
    expect(log).toContain('sync: dead letter');
    expect(log).toContain('Observation.code');
    expect(log).not.toContain('tyokyky-local-system-9041');
    expect(row.reason).not.toContain('tyokyky-local-system-9041');
    expect(log).not.toContain('010181-931P');
  }, 60_000);
});
