// The matchers of `tyokyky-fhir/testing` in this process (the packed package's are run by
// tests/package/pack.test.ts): a failure lists the issues, quoting the resource's values unless told not to.
import { describe, expect, it } from 'vitest';
import {
  type Extensible,
  type FhirMatcherOptions,
  type MatcherResult,
  installFhirMatchers,
} from '../../src/testing/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';

type Matchers = Record<string, (received: unknown, ...args: unknown[]) => MatcherResult>;

/** The matchers `installFhirMatchers` registers, caught from a stand-in `expect` (vitest's own stays as it is). */
async function matchers(opts: FhirMatcherOptions): Promise<Matchers> {
  let registered: Matchers = {};
  const stand: Extensible = {
    extend(m) {
      registered = m as Matchers;
    },
  };
  await installFhirMatchers(stand, { validator: await loadProjectValidator(), ...opts });
  return registered;
}

const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
// HETUs where a code and a date belong.
const HETUS = ['010181-900C', '120395-902S'];
const patient = { resourceType: 'Patient', text, gender: HETUS[0], birthDate: HETUS[1] };

describe('installFhirMatchers', () => {
  it('by default a failure message quotes the values, as tyokyky validate prints them', async () => {
    const { toBeValidFhir } = await matchers({});
    const result = toBeValidFhir!(patient);
    expect(result.pass).toBe(false);
    for (const hetu of HETUS) expect(result.message()).toContain(hetu);
  });

  it('valuesInMessages: false names the elements and leaves the values out', async () => {
    const { toBeValidFhir, toConformTo } = await matchers({ valuesInMessages: false });
    const results = [
      toBeValidFhir!(patient),
      toConformTo!(patient, 'https://tyokyky-fhir.org/fhir/StructureDefinition/tyokyky-patient'),
    ];
    for (const result of results) {
      expect(result.pass).toBe(false);
      const message = result.message();
      expect(message).toContain('Patient.gender');
      expect(message).toContain('Patient.birthDate');
      for (const hetu of HETUS) expect(message).not.toContain(hetu);
    }
  });
});
