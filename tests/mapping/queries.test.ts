// The searches the SDK writes for a domain rule, run against a real store holding the personas.
import type { Observation, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personas } from '../../examples/tools/personas.ts';
import { needsFurtherAssessment } from '../../src/domain/index.ts';
import { followUpScoreSearch, toFhir } from '../../src/mapping/index.ts';
import { type Store, openStore } from '../../src/store/index.ts';

describe('followUpScoreSearch', () => {
  let store: Store;
  const scores: Observation[] = [];

  beforeAll(async () => {
    store = await openStore({ dataDir: 'memory://' });
    const resources = Object.values(personas).flatMap(
      (record) => (toFhir(record).entry ?? []).map((e) => e.resource) as Resource[],
    );
    for (const r of resources) {
      const written = (await store.create(r)).resource;
      if (written.resourceType === 'Observation' && written.valueInteger !== undefined) scores.push(written);
    }
  }, 60_000);
  afterAll(async () => store?.close());

  it('finds exactly the scores the domain rule sends for a closer look (7 or lower)', async () => {
    const wanted = scores.filter((o) => needsFurtherAssessment(o.valueInteger as number)).map((o) => o.id);
    // The personas hold scores on both sides of the threshold (Maija's own 8 is above it).
    expect(wanted.length).toBeGreaterThan(0);
    expect(wanted.length).toBeLessThan(scores.length);
    const found = await store.search('Observation', followUpScoreSearch());
    expect(found.resources.map((r) => r.id).sort()).toEqual(wanted.sort());
  });

  it('names the code of the score and the threshold, and one client when asked', () => {
    expect(followUpScoreSearch('Patient/p-1')).toEqual({
      code: 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-observation|work-ability-score',
      'value-integer': 'le7',
      patient: 'Patient/p-1',
    });
  });
});
