// /api/sync/* is the operator's surface (the outbox of every client, requeueing): served only to a
// client holding the operator scope and never to a receiving party, each call audited.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent, Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_OPERATOR_SCOPE } from '../../src/server/security/index.ts';
import { type Store, freshPgliteDataDir, openStore } from '../../src/store/index.ts';
import { type SyncService, createSync } from '../../src/sync/index.ts';
import { type Secured, acceptingValidator, startSecured } from './helpers.ts';

const AUDIT = 'system/AuditEvent.rs';

describe('the sync API with auth on', () => {
  let dir: string;
  let store: Store;
  let sync: SyncService;
  let s: Secured;
  let auditor: string;
  let dead: string;

  const validator = acceptingValidator;
  const api = (token: string, path: string, method = 'GET') =>
    s.call(token, `${s.url}/api/sync/${path}`, { method });
  const stateOf = async (id: string) =>
    (await store.query<{ state: string }>('SELECT state FROM sync_outbox WHERE id = $1', [id]))[0]?.state;
  const events = async (agent: string) =>
    ((await (await s.call(auditor, `/AuditEvent?agent=${agent}`)).json()) as Bundle).entry?.map((e) => {
      const event = e.resource as AuditEvent;
      return [event.subtype?.[0]?.code, event.action, event.outcome, event.outcomeDesc];
    });

  beforeAll(async () => {
    dir = await freshPgliteDataDir(mkdtempSync(join(tmpdir(), 'tyokyky-sync-api-')));
    store = await openStore({ dataDir: dir });
    sync = createSync({
      store,
      remote: { baseUrl: 'http://127.0.0.1:9/fhir', party: 'kela' },
      installHook: false,
    });
    await sync.ready;
    s = await startSecured(store, validator, { sync });
    auditor = (await s.client({ id: 'auditor', scope: AUDIT })).token;
    // A stopped row, as the push leaves one: another client's resource, why it stopped.
    const [row] = await store.query<{ id: string }>(
      `INSERT INTO sync_outbox (resource_type, resource_id, action, payload, state, reason, patient_id)
       VALUES ('Observation', 'someone-elses', 'create', '{}', 'dead', 'remote refused', 'Patient/p-1') RETURNING id`,
    );
    dead = String(row?.id);
  }, 120_000);
  afterAll(async () => {
    await s?.running.close();
    await sync?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a receiving party, whatever its scopes: it would list and requeue every client's rows", async () => {
    const { token: kela } = await s.client({
      id: 'kela-sync',
      scope: `system/*.cruds ${SYNC_OPERATOR_SCOPE}`,
      party: 'kela',
    });
    const refusal =
      "sec-consent-7: a receiving party (kela) cannot use the sync API: its rows name every client's resources";
    for (const [path, method] of [
      ['rows?state=dead', 'GET'],
      ['status', 'GET'],
      [`retry?id=${dead}`, 'POST'],
    ] as const) {
      const res = await api(kela, path, method);
      const outcome = (await res.json()) as OperationOutcome;
      expect([path, res.status, outcome.issue?.map((i) => i.diagnostics)]).toEqual([path, 403, [refusal]]);
    }
    expect(await stateOf(dead)).toBe('dead');
    expect(await events('kela-sync')).toEqual(Array(3).fill(['operation', 'E', '4', refusal]));
  });

  it('needs the operator scope: the domain scopes are not enough', async () => {
    const { token } = await s.client({ id: 'domain-writer', scope: 'system/*.cruds' });
    for (const [path, method] of [
      ['rows?state=dead', 'GET'],
      [`retry?id=${dead}`, 'POST'],
    ] as const) {
      const res = await api(token, path, method);
      expect([path, res.status]).toEqual([path, 403]);
      expect(res.headers.get('www-authenticate')).toBe(
        'Bearer realm="tyokyky-fhir", error="insufficient_scope"',
      );
      expect(((await res.json()) as OperationOutcome).issue?.[0]?.diagnostics).toBe(
        'sec-scope-1: the granted scopes do not permit this interaction',
      );
    }
    expect(await stateOf(dead)).toBe('dead');
  });

  it("serves the operator, and audits each call with what it did (no client's data)", async () => {
    const { token } = await s.client({ id: 'operator', scope: SYNC_OPERATOR_SCOPE });
    const rows = await api(token, 'rows?state=dead');
    expect(rows.status).toBe(200);
    expect(((await rows.json()) as { id: string }[]).map((r) => String(r.id))).toEqual([dead]);
    const retried = await api(token, `retry?id=${dead}`, 'POST');
    expect([retried.status, await retried.json()]).toEqual([200, { requeued: 1 }]);
    expect(await stateOf(dead)).toBe('pending');
    expect((await api(token, 'status')).status).toBe(200);
    // Newest first.
    const log = await events('operator');
    expect(log).toEqual([
      ['operation', 'E', '0', 'sync status'],
      ['operation', 'U', '0', `sync retry of row ${dead}: 1 row requeued`],
      ['operation', 'E', '0', 'sync rows (dead): 1 row listed'],
    ]);
    expect(JSON.stringify(log)).not.toContain('someone-elses');
    expect(JSON.stringify(log)).not.toContain('Patient/p-1');
  });
});
