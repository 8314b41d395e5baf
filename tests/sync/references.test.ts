// Reference translation on the way to the other side: what is translated, what is listed as
// untranslated, and that only the paths to translated references are copied (the input is never
// changed, the rest is shared — a push does not deep-copy every resource it sends).
import { describe, expect, it } from 'vitest';
import {
  collectReferences,
  relativeParts,
  translateReferences,
  versionedReferences,
} from '../../src/sync/references.ts';

const goal = () => ({
  resourceType: 'Goal',
  id: 'g1',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Tavoite</div>' },
  subject: { reference: 'Patient/p1', display: 'Suvi' },
  addresses: [{ reference: 'Observation/o1' }, { reference: 'Observation/o2' }],
  expressedBy: { reference: 'PractitionerRole/r1' },
  note: [{ text: 'ei viittausta' }],
});

describe('translateReferences', () => {
  it('translates literal and logical references, copying only the paths to them', () => {
    const input = goal();
    const frozen = JSON.stringify(input);
    const { value, untranslated } = translateReferences(input, (ref) => {
      if (ref === 'Patient/p1') return { reference: 'Patient/R1' };
      if (ref === 'Observation/o1') return { reference: 'urn:uuid:0b6d1f4e-8c53-4c3a-9d4e-6f0a2b1c9e77' };
      if (ref === 'PractitionerRole/r1')
        return {
          identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:r1' },
          type: 'PractitionerRole',
        };
      return undefined;
    });
    expect(untranslated).toEqual(['Observation/o2']);
    expect(JSON.stringify(input)).toBe(frozen); // the input is unchanged
    expect(value.subject).toEqual({ reference: 'Patient/R1', display: 'Suvi' });
    expect(Object.keys(value.subject)).toEqual(['reference', 'display']); // the reference keeps its place
    expect(value.addresses).toEqual([
      { reference: 'urn:uuid:0b6d1f4e-8c53-4c3a-9d4e-6f0a2b1c9e77' },
      { reference: 'Observation/o2' },
    ]);
    expect(value.expressedBy).toEqual({
      type: 'PractitionerRole',
      identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:r1' },
    });
    // Untouched subtrees are shared, changed ones are new objects.
    expect(value.text).toBe(input.text);
    expect(value.note).toBe(input.note);
    expect(value.addresses[1]).toBe(input.addresses[1]);
    expect(value.addresses).not.toBe(input.addresses);
    expect(value).not.toBe(input);
  });

  it('returns the very input when nothing is translated', () => {
    const input = goal();
    const { value, untranslated } = translateReferences(input, () => undefined);
    expect(value).toBe(input);
    expect(untranslated).toEqual(['Patient/p1', 'Observation/o1', 'Observation/o2', 'PractitionerRole/r1']);
  });

  it('leaves absolute, urn and contained references alone', () => {
    const input = {
      resourceType: 'CarePlan',
      subject: { reference: 'https://other.example/fhir/Patient/x' },
      goal: [{ reference: 'urn:uuid:5d1c2b3a-1111-4222-8333-944455556666' }, { reference: '#g' }],
    };
    const seen: string[] = [];
    const { value } = translateReferences(input, (ref) => {
      seen.push(ref);
      return { reference: 'Patient/never' };
    });
    expect(seen).toEqual([]);
    expect(value).toBe(input);
    expect([...collectReferences(input)]).toEqual([]);
  });
});

describe('collectReferences', () => {
  it('finds relative references anywhere, once each', () => {
    const refs = collectReferences({ ...goal(), extra: [{ deep: { reference: 'Patient/p1' } }] });
    expect([...refs]).toEqual(['Patient/p1', 'Observation/o1', 'Observation/o2', 'PractitionerRole/r1']);
  });
});

describe('versioned references', () => {
  it('count as references to their resource, with the version kept apart', () => {
    const plan = {
      resourceType: 'CarePlan',
      goal: [{ reference: 'Goal/g1/_history/3' }, { reference: 'Goal/g1' }],
      addresses: [{ reference: 'Observation/o1/_history/x' }, { reference: 'Observation/o2/_history/' }],
    };
    expect([...collectReferences(plan)]).toEqual(['Goal/g1', 'Observation/o1']);
    expect(versionedReferences(plan)).toEqual([
      { target: 'Goal/g1', version: '3' },
      { target: 'Observation/o1', version: 'x' },
    ]);
    expect(relativeParts('Goal/g1/_history/3')).toEqual({ target: 'Goal/g1', version: '3' });
    expect(relativeParts('Goal/g1')).toEqual({ target: 'Goal/g1' });
    expect(relativeParts('https://x.example/fhir/Goal/g1')).toBeUndefined();
    const seen: string[] = [];
    translateReferences(plan, (ref) => {
      seen.push(ref);
      return undefined;
    });
    expect(seen).toEqual(['Goal/g1/_history/3', 'Goal/g1', 'Observation/o1/_history/x']);
  });
});
