// Seeds N Observations (spread over N/100 patients, stored first: a reference must name a stored
// resource) through the store's own bulk path, createMany: each call writes a thousand resources,
// their history and search index in one statement, so the seed follows whatever the store's schema is.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Observation, Patient, PractitionerRole } from '@medplum/fhirtypes';
import type { Store } from '../../src/store/index.ts';

export const patientCount = (n: number) => Math.max(1, Math.floor(n / 100));

const CHUNK = 1_000;

/** The worker the created Observations name as performer, seeded with the patients. */
const PERFORMER = 'bench-role';

/**
 * The bodies the benches POST, one per call: the package's Work Ability Score example, its references
 * pointed at seeded resources (Patient/bench-pat-1 and the performer), with a business identifier of
 * its own — a global identifier names one resource (tyk-id-4), so the same body twice is a 409.
 */
export function createBodies(): () => string {
  const example = JSON.parse(
    readFileSync(
      new URL('../../profiles/package/example/Observation-maija-work-ability-score.json', import.meta.url),
      'utf8',
    ),
  );
  const { id: _id, ...body } = example;
  const [before, after] = JSON.stringify({
    ...body,
    identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:\u0000' }],
    subject: { reference: 'Patient/bench-pat-1' },
    performer: [{ reference: `PractitionerRole/${PERFORMER}` }],
  }).split('\\u0000');
  return () => `${before}${randomUUID()}${after}`;
}

export async function seedObservations(store: Store, n: number): Promise<void> {
  const patients = patientCount(n);
  const role: PractitionerRole = { resourceType: 'PractitionerRole', id: PERFORMER, active: true };
  const [seeded] = await store.createMany([{ resource: role, opts: { keepId: true } }]);
  if (seeded instanceof Error) throw seeded;
  for (let from = 0; from < patients; from += CHUNK) {
    const items = [];
    for (let p = from; p < Math.min(from + CHUNK, patients); p++) {
      const resource: Patient = {
        resourceType: 'Patient',
        id: `bench-pat-${p}`,
        name: [{ family: 'Bench' }],
      };
      items.push({ resource, opts: { keepId: true } });
    }
    const failed = (await store.createMany(items)).find((r) => r instanceof Error);
    if (failed) throw failed;
  }
  for (let from = 1; from <= n; from += CHUNK) {
    const items = [];
    for (let g = from; g < Math.min(from + CHUNK, n + 1); g++) {
      const resource: Observation = {
        resourceType: 'Observation',
        id: `bench-obs-${g}`,
        status: 'final',
        identifier: [
          {
            system: 'urn:ietf:rfc:3986',
            value: `urn:uuid:00000000-0000-4000-8000-${String(g).padStart(12, '0')}`,
          },
        ],
        code: {
          coding: [
            {
              system: 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-observation',
              code: 'work-ability-score',
            },
          ],
        },
        subject: { reference: `Patient/bench-pat-${g % patients}` },
        effectiveDateTime: new Date(Date.UTC(2025, 0, 1) + g * 1000).toISOString().slice(0, 10),
        valueInteger: g % 11,
      };
      items.push({ resource, opts: { keepId: true } });
    }
    const results = await store.createMany(items);
    const failed = results.find((r) => r instanceof Error);
    if (failed) throw failed;
  }
  // Measure a settled database, not the aftermath of a bulk load: without this, autovacuum and a
  // checkpoint of the seed's WAL would run during the first scenario, on the same two cores.
  await store.query('VACUUM ANALYZE');
  await store.query('CHECKPOINT').catch(() => {}); // needs superuser or pg_checkpoint; optional
}
