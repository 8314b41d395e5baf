// The facade's writes racing each other on PostgreSQL: a DELETE and a write adding a reference to what
// it deletes (never both: 409 or 422 store-ref-1), a transaction retried after a deadlock (judged on
// what it resolves to in the attempt that commits), transactions updating the same resources in
// opposite orders (no deadlock), and one the database keeps refusing (503, transient). Where the order
// matters it is forced: a store transaction held open, or a trigger waiting for the test.
import { randomUUID } from 'node:crypto';
import type { Bundle, Observation, OperationOutcome, Patient } from '@medplum/fhirtypes';
import type express from 'express';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirError } from '../../src/shared/outcome.ts';
import { dropDatabase, freshDatabase } from '../helpers/databases.ts';
import { gate, stillPending } from '../helpers/locks.ts';
import { type Fixture, openFixture } from './helpers.ts';

const FHIR = 'application/fhir+json';
let databaseUrl = '';
let fx: Fixture;
let app: express.Express;
let admin: pg.Client;

beforeAll(async () => {
  databaseUrl = await freshDatabase('tyokyky_write_races');
  // A deadlock costs this long to find: far longer than writes that never deadlock take.
  const name = new URL(databaseUrl).pathname.slice(1);
  const setup = new pg.Client({ connectionString: databaseUrl });
  await setup.connect();
  await setup.query(`ALTER DATABASE ${name} SET deadlock_timeout = '5s'`);
  await setup.end();
  fx = await openFixture({ databaseUrl });
  app = fx.app({ strict: false });
  admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
}, 60_000);

afterAll(async () => {
  await admin?.end();
  await fx?.close();
  if (databaseUrl) await dropDatabase(databaseUrl);
});

const send = (method: 'post' | 'put' | 'delete' | 'get', path: string, body?: unknown, headers = {}) => {
  const r = request(app)
    [method](path)
    .set({ 'Content-Type': FHIR, ...headers });
  return body === undefined ? r : r.send(JSON.stringify(body));
};

const newPatient = async (family = 'Race'): Promise<Patient> =>
  (await send('post', '/fhir/Patient', { resourceType: 'Patient', name: [{ family }] })).body as Patient;

const observation = (subject: string, text = 'race'): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text },
  subject: { reference: subject },
});

/** Deleted while a current resource still refers to it. */
async function dangling(patientId: string): Promise<string[]> {
  const gone = await fx.store.read('Patient', patientId).then(
    () => false,
    (err: unknown) => err instanceof FhirError && err.status === 410,
  );
  return gone ? fx.store.referrers('Patient', patientId) : [];
}

const diagnostics = (body: OperationOutcome) => body.issue?.map((i) => i.diagnostics).join(' | ');

describe('a DELETE racing a write that adds a reference', () => {
  it('waits for a write that checked its reference, then is 409', async () => {
    const p = await newPatient();
    const held = gate();
    let checked = () => {};
    const reached = new Promise<void>((resolve) => {
      checked = resolve;
    });
    let obsId = '';
    const write = fx.store.transaction(async (tx) => {
      const target = [{ ref: `Patient/${p.id}`, path: 'Observation.subject' }];
      obsId = (await tx.create(observation(`Patient/${p.id}`), { targets: target })).resource.id as string;
      checked();
      await held.wait;
    });
    await reached;
    const del = send('delete', `/fhir/Patient/${p.id}`).then((r) => r);
    try {
      expect(await stillPending(del)).toBe(true);
    } finally {
      held.open();
      await write;
    }
    const res = await del;
    expect(res.status).toBe(409);
    expect(diagnostics(res.body)).toBe(
      `Patient/${p.id} is still referenced by Observation/${obsId}; delete or update those first`,
    );
    expect(await dangling(p.id as string)).toEqual([]);
  });

  it('a POST, a PUT and a transaction adding a reference wait for a delete holding the row, then are 422 store-ref-1', async () => {
    const p = await newPatient();
    const existing = (await send('post', '/fhir/Observation', { ...observation(''), subject: undefined }))
      .body as Observation;
    const held = gate();
    let deleted = () => {};
    const reached = new Promise<void>((resolve) => {
      deleted = resolve;
    });
    const del = fx.store.transaction(async (tx) => {
      await tx.delete('Patient', p.id as string, { unreferenced: true });
      deleted();
      await held.wait;
    });
    await reached;
    const ref = `Patient/${p.id}`;
    const writes = [
      send('post', '/fhir/Observation', observation(ref)).then((r) => r),
      send(
        'put',
        `/fhir/Observation/${existing.id}`,
        { ...existing, subject: { reference: ref } },
        {
          'If-Match': 'W/"1"',
        },
      ).then((r) => r),
      send('post', '/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: `urn:uuid:${randomUUID()}`,
            resource: observation(ref),
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      }).then((r) => r),
    ];
    try {
      expect(await stillPending(writes[0])).toBe(true);
    } finally {
      held.open();
      await del;
    }
    const [post, put, tx] = await Promise.all(writes);
    const refused = `store-ref-1: ${ref} does not exist here; a reference must name a stored resource`;
    expect([post.status, diagnostics(post.body)]).toEqual([422, refused]);
    expect([put.status, diagnostics(put.body)]).toEqual([422, refused]);
    expect([tx.status, diagnostics(tx.body)]).toEqual([422, refused]);
    expect(tx.body.issue?.[0]?.expression).toEqual(['Bundle.entry[0].resource.subject']);
    expect(await dangling(p.id as string)).toEqual([]);
  });

  it('concurrent POSTs and DELETEs over HTTP never leave a dangling reference', async () => {
    for (let round = 0; round < 8; round++) {
      const p = await newPatient();
      const obs = observation(`Patient/${p.id}`);
      const [a, d, b] = await Promise.all([
        send('post', '/fhir/Observation', obs).then((r) => r.status),
        send('delete', `/fhir/Patient/${p.id}`).then((r) => r.status),
        send('post', '/fhir/Observation', obs).then((r) => r.status),
      ]);
      expect(await dangling(p.id as string), `round ${round}: POST ${a} DELETE ${d} POST ${b}`).toEqual([]);
    }
  });
});

/** Runs `sql` on the test database (triggers the tests below install, and drop again). */
const sql = (text: string) => admin.query(text);

describe('a transaction retried after a deadlock', () => {
  it('resolves its conditional entries again: references point at what the attempt that commits resolved', async () => {
    const code = `retry-${randomUUID()}`;
    // Its first insert of the Observation waits for the test, then fails as a deadlock victim would.
    await sql('CREATE SEQUENCE IF NOT EXISTS retry_once');
    await sql(`CREATE OR REPLACE FUNCTION fail_once() RETURNS trigger AS $$
      BEGIN
        IF NEW.resource_type = 'Observation' AND NEW.content->'code'->>'text' = '${code}'
           AND nextval('retry_once') = 1 THEN
          PERFORM pg_advisory_xact_lock(4242);
          RAISE EXCEPTION 'deadlock detected (test)' USING ERRCODE = '40P01';
        END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`);
    await sql(
      'CREATE TRIGGER fail_once BEFORE INSERT ON resources FOR EACH ROW EXECUTE FUNCTION fail_once()',
    );
    await sql('SELECT pg_advisory_lock(4242)');
    try {
      const identifier = { system: 'urn:test:retry', value: randomUUID() };
      const patientUrl = `urn:uuid:${randomUUID()}`;
      const bundle = request(app)
        .post('/fhir')
        .set('Content-Type', FHIR)
        .send({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              fullUrl: patientUrl,
              resource: { resourceType: 'Patient', identifier: [identifier] },
              request: {
                method: 'POST',
                url: 'Patient',
                ifNoneExist: `identifier=${identifier.system}|${identifier.value}`,
              },
            },
            {
              fullUrl: `urn:uuid:${randomUUID()}`,
              resource: observation(patientUrl, code),
              request: { method: 'POST', url: 'Observation' },
            },
          ],
        })
        .then((r) => r);
      // The first attempt waits in the trigger; meanwhile another writer creates the Patient.
      for (let i = 0; i < 100; i++) {
        const { rows } = await sql(
          "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted",
        );
        if (rows.length) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const { resource: other } = await fx.store.create<Patient>({
        resourceType: 'Patient',
        identifier: [identifier],
      });
      await sql('SELECT pg_advisory_unlock(4242)');
      const res = await bundle;
      expect(res.status, diagnostics(res.body)).toBe(200);
      const [patient, obs] = (res.body as Bundle).entry ?? [];
      expect(patient?.response?.status).toBe('200 OK');
      expect((patient?.resource as Patient).id).toBe(other.id);
      expect((obs?.resource as Observation).subject?.reference).toBe(`Patient/${other.id}`);
    } finally {
      await sql('SELECT pg_advisory_unlock_all()');
      await sql('DROP TRIGGER IF EXISTS fail_once ON resources');
    }
  });
});

describe('transactions updating the same resources', () => {
  it('in opposite orders do not deadlock: one wins, the others are 412', async () => {
    for (let round = 0; round < 3; round++) {
      const patients = [await newPatient('L1'), await newPatient('L2'), await newPatient('L3')];
      const put = (p: Patient, i: number) => ({
        resource: { resourceType: 'Patient', id: p.id, name: [{ family: `n${i}` }] },
        request: { method: 'PUT', url: `Patient/${p.id}`, ifMatch: 'W/"1"' },
      });
      const started = Date.now();
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => {
          const order = i % 2 ? patients : [...patients].reverse();
          return send('post', '/fhir', {
            resourceType: 'Bundle',
            type: 'transaction',
            entry: order.map((p) => put(p, i)),
          }).then((r) => r.status);
        }),
      );
      expect(answers.sort(), `round ${round}`).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
      // A deadlock costs the database's deadlock_timeout (5 s here) to find.
      expect(Date.now() - started, `round ${round}`).toBeLessThan(4_000);
    }
  });

  it('a transaction the database keeps refusing as a deadlock victim is 503 with Retry-After, transient', async () => {
    const code = `victim-${randomUUID()}`;
    await sql(`CREATE OR REPLACE FUNCTION always_victim() RETURNS trigger AS $$
      BEGIN
        IF NEW.resource_type = 'Observation' AND NEW.content->'code'->>'text' = '${code}' THEN
          RAISE EXCEPTION 'deadlock detected (test)' USING ERRCODE = '40P01';
        END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`);
    await sql(
      'CREATE TRIGGER always_victim BEFORE INSERT ON resources FOR EACH ROW EXECUTE FUNCTION always_victim()',
    );
    try {
      const p = await newPatient();
      const res = await send('post', '/fhir', {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: observation(`Patient/${p.id}`, code), request: { method: 'POST', url: 'Observation' } },
        ],
      });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue?.[0]?.code).toBe('transient');
    } finally {
      await sql('DROP TRIGGER IF EXISTS always_victim ON resources');
    }
  });
});
