// A plan's narrative names each activity with its description, so that two activities of one service
// (Sirpa's two rehabilitative work activities) read as the two different things they are.
import type { Bundle, CarePlan } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { sirpa } from '../../examples/tools/personas.ts';
import { toFhir } from '../../src/mapping/index.ts';
import { entryOf } from './reader-helpers.ts';

const narrativeOf = (bundle: Bundle) => entryOf<CarePlan>(bundle, 'tyokyky-support-plan').resource.text!.div;

describe("the plan's narrative names each activity's description", () => {
  it.each([
    ['fi', 'Kuntouttava työtoiminta – Verstas (', 'Kuntouttava työtoiminta – Asiakaspalvelu ('],
    ['sv', '– Verstas (', '– Asiakaspalvelu ('],
    ['en', '– Verstas (', '– Asiakaspalvelu ('],
  ] as const)('in %s', (language, first, second) => {
    const div = narrativeOf(toFhir(sirpa, { language }));
    expect(div).toContain(first);
    expect(div).toContain(second);
  });

  it('an activity without a description reads as its service alone', () => {
    const record = structuredClone(sirpa);
    for (const p of record.plans ?? [])
      for (const a of p.activities) {
        // biome-ignore lint/performance/noDelete: the test removes the field
        delete a.description;
      }
    expect(narrativeOf(toFhir(record))).not.toContain(' – ');
  });
});
