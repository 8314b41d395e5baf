// Kanta PHR mode: a global business identifier (`urn:ietf:rfc:3986`) names one resource, whatever
// its type — a create carrying one that a resource of another Kanta type holds is 409
// `kanta-identifier`, directly, in a batch, and when two creates of two types race (PGlite and
// PostgreSQL: the lookup and the write are one step against a concurrent create of either type).
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import type { Store } from '../../src/store/index.ts';
import { type Validator, loadProjectValidator } from '../../src/validation/index.ts';
import { bothStores } from '../helpers/both-stores.ts';
import { silent } from '../server/helpers.ts';
import {
  batch,
  bodyWeight,
  call,
  entryIssue,
  firstIssue,
  kantaExample,
  phrPatient,
  statuses,
  urn,
} from './helpers.ts';

const stores = bothStores('tyokyky_kanta_global_ident');
let validator: Validator;
beforeAll(async () => {
  validator = await loadProjectValidator();
}, 60_000);

/** Kanta's insulin-dosing example (fiphr-sd-insulindosing-r4), without its id, carrying `value`. */
function insulin(value: string): Resource {
  const {
    id: _id,
    meta,
    ...ma
  } = kantaExample<Resource & { meta: Resource['meta'] }>(
    'MedicationAdministration-a4d97476-39fa-46c6-bf2e-1fb153a7bbe2.json',
  );
  return {
    ...ma,
    meta: { profile: meta?.profile },
    identifier: [{ system: 'urn:ietf:rfc:3986', value }],
  } as Resource;
}

const patient = (value: string) => phrPatient(value);

/** A 409 naming the refused resource's own identifier element, quoting no value. */
function refusedAt(at: string, value: string) {
  return (issue: { code?: string; diagnostics?: string; expression?: string[] } | undefined) => {
    expect(issue?.code).toBe('duplicate');
    expect(issue?.diagnostics).toMatch(/^kanta-identifier: /);
    expect(issue?.expression).toEqual([`${at}.identifier`]);
    expect(JSON.stringify(issue)).not.toContain(value);
  };
}

describe.each(['pglite', 'postgres'] as const)(
  'Kanta PHR: one resource per global identifier, any type (%s)',
  (engine) => {
    let server: RunningServer;
    let base: string;
    let store: Store;

    beforeAll(async () => {
      store = stores[engine];
      server = await startServer({
        store: store as never,
        validator: validator as never,
        logger: silent,
        mode: 'kanta-phr',
      });
      base = `${server.url}/fhir`;
    }, 60_000);
    afterAll(async () => server?.close());

    /** How many current resources of `type` carry `value`. */
    const held = async (type: string, value: string) =>
      (await store.findByIdentifiers(type, [{ system: 'urn:ietf:rfc:3986', value }]))[0]?.length ?? 0;

    it('a create carrying an identifier another type holds is 409 kanta-identifier', async () => {
      const t = urn();
      expect((await call(base, 'POST', '/Observation', bodyWeight(t))).status).toBe(201);
      const ma = await call(base, 'POST', '/MedicationAdministration', insulin(t));
      expect(ma.status, JSON.stringify(ma.body)).toBe(409);
      refusedAt('MedicationAdministration', t)(firstIssue(ma));
      const p = await call(base, 'POST', '/Patient', patient(t));
      expect(p.status, JSON.stringify(p.body)).toBe(409);
      refusedAt('Patient', t)(firstIssue(p));
      // A conditional create on it is refused alike: what its criteria would find is of its own type.
      const cond = await call(base, 'POST', '/MedicationAdministration', insulin(t), {
        'If-None-Exist': `identifier=urn:ietf:rfc:3986|${t}`,
      });
      expect(cond.status).toBe(409);
      expect([await held('MedicationAdministration', t), await held('Patient', t)]).toEqual([0, 0]);
      expect(await held('Observation', t)).toBe(1);
    });

    it('a conditional create matching a resource of its own type is still the 200 of that resource', async () => {
      const t = urn();
      const made = await call(base, 'POST', '/MedicationAdministration', insulin(t));
      expect(made.status).toBe(201);
      const again = await call(base, 'POST', '/MedicationAdministration', insulin(t), {
        'If-None-Exist': `identifier=urn:ietf:rfc:3986|${t}`,
      });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(made.body.id);
    });

    it('in a batch, the later entry of another type carrying the identifier is 409', async () => {
      const t = urn();
      const r = await call(
        base,
        'POST',
        '',
        batch([
          { resource: bodyWeight(t), request: { method: 'POST', url: 'Observation' } },
          { resource: insulin(t), request: { method: 'POST', url: 'MedicationAdministration' } },
        ]),
      );
      expect(statuses(r)).toEqual(['201', '409']);
      refusedAt('Bundle.entry[1].resource', t)(entryIssue(r, 1));
      // And against a stored one of another type.
      const later = await call(
        base,
        'POST',
        '',
        batch([{ resource: patient(t), request: { method: 'POST', url: 'Patient' } }]),
      );
      expect(statuses(later)).toEqual(['409']);
      expect([await held('Observation', t), await held('MedicationAdministration', t)]).toEqual([1, 0]);
    });

    it('two creates of one identifier in two types at once: exactly one is written', async () => {
      for (let round = 0; round < 8; round++) {
        const t = urn();
        const answers = await Promise.all([
          call(base, 'POST', '/Observation', bodyWeight(t)),
          call(base, 'POST', '/MedicationAdministration', insulin(t)),
          call(
            base,
            'POST',
            '',
            batch([{ resource: patient(t), request: { method: 'POST', url: 'Patient' } }]),
          ),
        ]);
        const codes = [answers[0].status, answers[1].status, Number(statuses(answers[2])[0])];
        expect(
          codes.filter((c) => c === 201),
          `round ${round}: ${codes}`,
        ).toHaveLength(1);
        expect(
          codes.filter((c) => c === 409),
          `round ${round}: ${codes}`,
        ).toHaveLength(2);
        const counts = await Promise.all(
          ['Observation', 'MedicationAdministration', 'Patient'].map((type) => held(type, t)),
        );
        expect(counts.reduce((a, b) => a + b)).toBe(1);
      }
    });
  },
);
