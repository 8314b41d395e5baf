import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../src/validation/registry.ts';
import { type Terminology, createTerminology } from '../../src/validation/terminology/index.ts';
import { MAX_REMEMBERED_MISSES } from '../../src/validation/util.ts';

const base = 'https://example.org/fhir';
const cs: CodeSystem = {
  resourceType: 'CodeSystem',
  url: `${base}/CodeSystem/animals`,
  status: 'active',
  content: 'complete',
  caseSensitive: true,
  property: [{ code: 'legs', type: 'integer' }],
  concept: [
    {
      code: 'animal',
      display: 'Animal',
      concept: [
        {
          code: 'mammal',
          display: 'Mammal',
          designation: [{ language: 'fi', value: 'Nisäkäs' }],
          concept: [
            { code: 'dog', display: 'Dog', property: [{ code: 'legs', valueInteger: 4 }] },
            { code: 'whale', display: 'Whale', property: [{ code: 'legs', valueInteger: 0 }] },
          ],
        },
        { code: 'bird', display: 'Bird', property: [{ code: 'legs', valueInteger: 2 }] },
      ],
    },
  ],
};
const insensitive: CodeSystem = {
  resourceType: 'CodeSystem',
  url: `${base}/CodeSystem/colours`,
  status: 'active',
  content: 'complete',
  caseSensitive: false,
  concept: [{ code: 'Red', display: 'Red' }],
};
const unstatedCase: CodeSystem = {
  resourceType: 'CodeSystem',
  url: `${base}/CodeSystem/unstated-case`,
  status: 'active',
  content: 'complete',
  concept: [{ code: 'Up', display: 'Up' }],
};
const fragment: CodeSystem = {
  resourceType: 'CodeSystem',
  url: `${base}/CodeSystem/fragment`,
  version: '3',
  status: 'active',
  content: 'fragment',
  caseSensitive: true,
  concept: [{ code: 'known', display: 'Known' }],
};
const animalsUrl = `${base}/CodeSystem/animals`;
const filtered = (...filter: { property: string; op: string; value: string }[]) =>
  ({
    include: [{ system: animalsUrl, filter }],
  }) as ValueSet['compose'];
/**
 * Filters and compositions (R4 valueset-filter-operator) on the animals: id, compose, and the codes
 * the ValueSet holds — or `open` when it cannot be enumerated (any code of the system is then
 * accepted with a warning, never refused).
 */
const FILTER_CASES: Array<[string, ValueSet['compose'], string[] | 'open']> = [
  ['is-not-a-mammal', filtered({ property: 'concept', op: 'is-not-a', value: 'mammal' }), ['animal', 'bird']],
  [
    'generalizes-dog',
    filtered({ property: 'concept', op: 'generalizes', value: 'dog' }),
    ['animal', 'dog', 'mammal'],
  ],
  ['in-codes', filtered({ property: 'concept', op: 'in', value: 'dog, bird,nope' }), ['bird', 'dog']],
  ['in-legs', filtered({ property: 'legs', op: 'in', value: '0,2' }), ['bird', 'whale']],
  [
    'not-in-codes',
    filtered({ property: 'concept', op: 'not-in', value: 'dog,bird' }),
    ['animal', 'mammal', 'whale'],
  ],
  ['regex-code', filtered({ property: 'code', op: 'regex', value: '[dw].*' }), ['dog', 'whale']],
  ['regex-legs', filtered({ property: 'legs', op: 'regex', value: '[0-2]' }), ['bird', 'whale']],
  ['has-legs', filtered({ property: 'legs', op: 'exists', value: 'true' }), ['bird', 'dog', 'whale']],
  ['no-legs-property', filtered({ property: 'legs', op: 'exists', value: 'false' }), ['animal', 'mammal']],
  [
    'four-legged-mammals',
    filtered({ property: 'concept', op: 'is-a', value: 'mammal' }, { property: 'legs', op: '=', value: '4' }),
    ['dog'],
  ],
  ['unknown-op', filtered({ property: 'concept', op: 'child-of', value: 'mammal' }), 'open'],
  ['bad-regex', filtered({ property: 'code', op: 'regex', value: '(' }), 'open'],
  [
    'concepts-within-import',
    {
      include: [
        {
          system: animalsUrl,
          concept: [{ code: 'dog' }, { code: 'bird' }],
          valueSet: [`${base}/ValueSet/is-a-mammal`],
        },
      ],
    },
    ['dog'],
  ],
  [
    'all-but-mammals',
    {
      include: [{ system: animalsUrl }],
      exclude: [{ system: animalsUrl, filter: [{ property: 'concept', op: 'is-a', value: 'mammal' }] }],
    },
    ['animal', 'bird'],
  ],
];
const vs = (id: string, compose: ValueSet['compose']): ValueSet => ({
  resourceType: 'ValueSet',
  url: `${base}/ValueSet/${id}`,
  status: 'active',
  compose,
});
const animals = `${base}/CodeSystem/animals`;
const valueSets = [
  vs('is-a-mammal', {
    include: [{ system: animals, filter: [{ property: 'concept', op: 'is-a', value: 'mammal' }] }],
  }),
  vs('below-mammal', {
    include: [{ system: animals, filter: [{ property: 'concept', op: 'descendent-of', value: 'mammal' }] }],
  }),
  vs('two-legs', { include: [{ system: animals, filter: [{ property: 'legs', op: '=', value: '2' }] }] }),
  vs('all-but-whale', {
    include: [{ system: animals }],
    exclude: [{ system: animals, concept: [{ code: 'whale' }] }],
  }),
  vs('imports', {
    include: [{ valueSet: [`${base}/ValueSet/two-legs`] }, { system: animals, concept: [{ code: 'dog' }] }],
  }),
  vs('broken-import', { include: [{ valueSet: [`${base}/ValueSet/nowhere`] }] }),
  vs('colours', { include: [{ system: `${base}/CodeSystem/colours` }] }),
  vs('fragment', { include: [{ system: `${base}/CodeSystem/fragment` }] }),
  vs('snomed-or-dog', {
    include: [{ system: 'http://snomed.info/sct' }, { system: animals, concept: [{ code: 'dog' }] }],
  }),
  vs('nowhere-or-dog', {
    include: [
      { system: 'https://nowhere.test/CodeSystem/x' },
      { system: animals, concept: [{ code: 'dog' }] },
    ],
  }),
  vs('cycle-a', { include: [{ valueSet: [`${base}/ValueSet/cycle-b`] }] }),
  ...FILTER_CASES.map(([id, compose]) => vs(id, compose)),
  vs('cycle-b', { include: [{ valueSet: [`${base}/ValueSet/cycle-a`] }] }),
];
const url = (id: string) => `${base}/ValueSet/${id}`;

let tx: Terminology;
beforeAll(() => {
  const registry = new Registry();
  registry.loadCore();
  for (const r of [cs, insensitive, unstatedCase, fragment, ...valueSets]) registry.add(r);
  tx = createTerminology(registry);
});

describe('ValueSet expansion from local CodeSystems', () => {
  it('is-a includes the concept and its descendants', () => {
    expect([...tx.expand(url('is-a-mammal'))!.systems.get(animals)!.codes.keys()].sort()).toEqual([
      'dog',
      'mammal',
      'whale',
    ]);
  });
  it('descendent-of excludes the concept itself', () => {
    expect([...tx.expand(url('below-mammal'))!.systems.get(animals)!.codes.keys()].sort()).toEqual([
      'dog',
      'whale',
    ]);
  });
  it('= filters on a property value', () => {
    expect([...tx.expand(url('two-legs'))!.systems.get(animals)!.codes.keys()]).toEqual(['bird']);
  });
  it('a whole-system include minus an exclude', () => {
    expect([...tx.expand(url('all-but-whale'))!.systems.get(animals)!.codes.keys()].sort()).toEqual([
      'animal',
      'bird',
      'dog',
      'mammal',
    ]);
  });
  it('valueSet imports are unioned with concept lists', () => {
    expect([...tx.expand(url('imports'))!.systems.get(animals)!.codes.keys()].sort()).toEqual([
      'bird',
      'dog',
    ]);
  });
  it.each(FILTER_CASES.map(([id, , want]) => [id, want] as const))('%s → %j', (id, want) => {
    const members = tx.expand(url(id))!.systems.get(animals)!;
    if (want === 'open') expect(members.open).toBe(true);
    else {
      expect(members.open).toBe(false);
      expect([...members.codes.keys()].sort()).toEqual(want);
    }
  });
  it('an import cycle does not loop', () => {
    expect(tx.checkCode(url('cycle-a'), 'required', { system: animals, code: 'dog' })).toMatchObject([
      { severity: 'warning', code: 'not-supported' },
    ]);
  });
  it('R4 core: a v3 ValueSet with an is-a filter expands from the v3 CodeSystem', () => {
    const act = tx.expand('http://terminology.hl7.org/ValueSet/v3-ActEncounterCode')!;
    expect(act.systems.get('http://terminology.hl7.org/CodeSystem/v3-ActCode')!.codes.has('AMB')).toBe(true);
  });
});

describe('checkCode', () => {
  const gender = 'http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1';
  it('accepts a code of a required binding, bare or with system', () => {
    expect(tx.checkCode(gender, 'required', { code: 'female' })).toEqual([]);
    expect(
      tx.checkCode(gender, 'required', {
        system: 'http://hl7.org/fhir/administrative-gender',
        code: 'female',
      }),
    ).toEqual([]);
  });
  it('rejects a code outside a required binding with an error naming the value set', () => {
    expect(tx.checkCode(gender, 'required', { code: 'Female' })).toEqual([
      {
        severity: 'error',
        code: 'code-invalid',
        message: `The code 'Female' is not in the required value set '${gender}'`,
      },
    ]);
  });
  it('warns for a code outside an extensible binding and is silent for preferred', () => {
    expect(tx.checkCode(url('is-a-mammal'), 'extensible', { system: animals, code: 'bird' })).toMatchObject([
      { severity: 'warning', code: 'code-invalid', message: expect.stringContaining('extensible value set') },
    ]);
    expect(tx.checkCode(url('is-a-mammal'), 'preferred', { system: animals, code: 'bird' })).toEqual([]);
    expect(tx.checkCode(url('is-a-mammal'), 'example', { system: animals, code: 'bird' })).toEqual([]);
  });
  it('a required binding to a THO value set still rejects codes outside it', () => {
    const vs = 'http://hl7.org/fhir/ValueSet/allergyintolerance-clinical|4.0.1';
    const system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
    expect(
      tx.checkCodeableConcept(vs, 'required', [{ system, code: 'nope' }]).map((i) => i.severity),
    ).toEqual(['warning', 'error']);
  });
  it('an unknown code in a complete local CodeSystem is an error whatever the strength', () => {
    expect(tx.checkCode(url('is-a-mammal'), 'preferred', { system: animals, code: 'cat' })).toEqual([
      {
        severity: 'error',
        code: 'code-invalid',
        message: `Unknown code 'cat' in the CodeSystem '${animals}'`,
      },
    ]);
  });
  const v20203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
  it('an unknown code in an HL7 Terminology (THO) CodeSystem is only a warning: our R4 copy may be older', () => {
    expect(
      tx.checkCodeableConcept('http://hl7.org/fhir/ValueSet/identifier-type', 'extensible', [
        { system: v20203, code: 'NNF1N' },
      ]),
    ).toEqual([
      {
        severity: 'warning',
        code: 'code-invalid',
        message: `Unknown code 'NNF1N' in the CodeSystem '${v20203}' (as of the R4 copy held here; HL7 Terminology may define it since)`,
      },
    ]);
  });
  it('v2-0203: NN + an ISO 3166 country code is a national identifier type (HL7 findSpecialConcept)', () => {
    for (const code of ['NNFIN', 'NNSWE', 'NNFI', 'NN246'])
      expect(tx.checkCode('', 'example', { system: v20203, code }), code).toEqual([]);
    for (const code of ['NNF1N', 'NNFINL', 'NNfin', 'NNX'])
      expect(tx.checkCode('', 'example', { system: v20203, code }), code).toMatchObject([
        { severity: 'warning', message: expect.stringContaining(`Unknown code '${code}'`) },
      ]);
    // Known to the code system, but not listed by R4's extensible identifier-type value set.
    expect(
      tx.checkCodeableConcept('http://hl7.org/fhir/ValueSet/identifier-type', 'extensible', [
        { system: v20203, code: 'NNFIN' },
      ]),
    ).toMatchObject([{ severity: 'warning', message: expect.stringContaining('extensible value set') }]);
  });
  it('an unknown code in a fragment CodeSystem is accepted with a warning', () => {
    const system = `${base}/CodeSystem/fragment`;
    expect(tx.checkCode(url('fragment'), 'required', { system, code: 'other' })).toEqual([
      {
        severity: 'warning',
        code: 'code-invalid',
        message: `Unknown Code 'other' in the CodeSystem '${system}' version '3' - note that the code system is labeled as a fragment, so the code may be valid in some other fragment`,
      },
    ]);
    expect(tx.checkCode(url('fragment'), 'required', { system, code: 'known' })).toEqual([]);
  });
  it('display mismatch is a warning; displays and designations match case-insensitively', () => {
    expect(
      tx.checkCode(url('is-a-mammal'), 'required', { system: animals, code: 'mammal', display: 'MAMMAL' }),
    ).toEqual([]);
    expect(
      tx.checkCode(url('is-a-mammal'), 'required', { system: animals, code: 'mammal', display: 'nisäkäs' }),
    ).toEqual([]);
    expect(
      tx.checkCode(url('is-a-mammal'), 'required', { system: animals, code: 'mammal', display: 'Fish' }),
    ).toEqual([
      {
        severity: 'warning',
        code: 'invalid',
        message: `Wrong display 'Fish' for '${animals}#mammal': expected 'Mammal' (or a designation)`,
      },
    ]);
  });
  it('case-insensitive CodeSystems match any case, with an information issue naming the correct code', () => {
    const colours = `${base}/CodeSystem/colours`;
    expect(tx.checkCode(url('colours'), 'required', { system: colours, code: 'RED' })).toEqual([
      {
        severity: 'information',
        code: 'business-rule',
        message: `The code 'RED' differs from the correct code 'Red' by case. Although the code system '${colours}' is case insensitive, implementers are strongly encouraged to use the correct case anyway`,
      },
    ]);
    expect(tx.checkCode(url('colours'), 'required', { system: colours, code: 'Red' })).toEqual([]);
  });
  it('a CodeSystem without caseSensitive is case-insensitive (HL7: absent is false); true keeps case', () => {
    expect(tx.codeSystem(`${base}/CodeSystem/unstated-case`)?.caseSensitive).toBe(false);
    expect(tx.codeSystem(animals)?.caseSensitive).toBe(true);
    expect(
      tx.checkCode('', 'example', { system: `${base}/CodeSystem/unstated-case`, code: 'up' }),
    ).toMatchObject([
      {
        severity: 'information',
        message: expect.stringContaining("differs from the correct code 'Up' by case"),
      },
    ]);
    expect(tx.checkCode('', 'example', { system: animals, code: 'Dog' })).toMatchObject([
      { severity: 'error', message: `Unknown code 'Dog' in the CodeSystem '${animals}'` },
    ]);
  });
  it('an unresolvable ValueSet is a warning, not an error', () => {
    expect(tx.checkCode(url('missing'), 'required', { code: 'x' })).toEqual([
      {
        severity: 'warning',
        code: 'not-supported',
        message: `ValueSet '${url('missing')}' could not be resolved, so the required binding was not checked`,
      },
    ]);
  });
  it('a value set depending on an unresolvable import gives a warning instead of an error', () => {
    expect(tx.checkCode(url('broken-import'), 'required', { system: animals, code: 'dog' })).toMatchObject([
      { severity: 'warning', code: 'not-supported', message: expect.stringContaining(url('nowhere')) },
    ]);
  });
  it('a code from a system we do not hold (SNOMED CT) is a warning, never an error', () => {
    expect(
      tx.checkCode(url('snomed-or-dog'), 'required', { system: 'http://snomed.info/sct', code: '38341003' }),
    ).toEqual([
      {
        severity: 'warning',
        code: 'not-supported',
        message: `Code system 'http://snomed.info/sct' is not available here, so the code '38341003' could not be checked against the value set '${url('snomed-or-dog')}'`,
      },
    ]);
  });
  it('MIME types, currencies, languages and UCUM get a syntax check only', () => {
    expect(
      tx.checkCode('http://hl7.org/fhir/ValueSet/mimetypes', 'required', {
        code: 'application/fhir+json; charset=utf-8',
      }),
    ).toEqual([]);
    expect(tx.checkCode('http://hl7.org/fhir/ValueSet/mimetypes', 'required', { code: 'png' })).toMatchObject(
      [{ severity: 'error', message: expect.stringContaining('mimetypes') }],
    );
    expect(tx.checkCode('http://hl7.org/fhir/ValueSet/mimetypes', 'required', { code: 'json' })).toEqual([]); // CapabilityStatement.format
    expect(tx.checkCode('http://hl7.org/fhir/ValueSet/currencies', 'required', { code: 'EUR' })).toEqual([]);
    expect(
      tx.checkCode('http://hl7.org/fhir/ValueSet/currencies', 'required', { code: 'euro' }),
    ).toMatchObject([{ severity: 'error' }]);
    expect(tx.checkCode('http://hl7.org/fhir/ValueSet/all-languages', 'required', { code: 'fi-FI' })).toEqual(
      [],
    );
    expect(
      tx.checkCode('http://hl7.org/fhir/ValueSet/all-languages', 'required', { code: 'not a language' }),
    ).toMatchObject([{ severity: 'error' }]);
    const ucum = 'http://hl7.org/fhir/ValueSet/ucum-units';
    expect(tx.checkCode(ucum, 'required', { system: 'http://unitsofmeasure.org', code: 'mg/dL' })).toEqual(
      [],
    );
    expect(tx.checkCode(ucum, 'required', { system: 'http://unitsofmeasure.org', code: 'mg/(dL' })).toEqual([
      {
        severity: 'error',
        code: 'code-invalid',
        message: "'mg/(dL' is not a valid UCUM unit (system 'http://unitsofmeasure.org')",
      },
    ]);
    // Unbound Quantity units (passed as `example`) get the same syntax check.
    expect(tx.checkCode('', 'example', { system: 'http://unitsofmeasure.org', code: 'mg dL' })).toMatchObject(
      [{ severity: 'error' }],
    );
    expect(tx.checkCode('', 'example', { system: 'http://unitsofmeasure.org', code: '{beats}/min' })).toEqual(
      [],
    );
    // Full UCUM grammar and unit table (NLM ucum-lhc via fhirpath.js), as the HL7 validator checks.
    for (const ok of ['mm[Hg]', '10*3/uL', 'kg/m2', '%', 'a', '[in_i]']) {
      expect(tx.checkCode('', 'example', { system: 'http://unitsofmeasure.org', code: ok })).toEqual([]);
    }
    for (const bad of ['whatever', '21612-7', 'beats/min', ' mg']) {
      expect(tx.checkCode('', 'example', { system: 'http://unitsofmeasure.org', code: bad })).toEqual([
        {
          severity: 'error',
          code: 'code-invalid',
          message: `'${bad}' is not a valid UCUM unit (system 'http://unitsofmeasure.org')`,
        },
      ]);
    }
  });
});

describe('a code system we do not hold', () => {
  const nowhere = 'https://nowhere.test/CodeSystem/x';
  const notFound = (system: string) =>
    `A definition for CodeSystem '${system}' could not be found, so the code cannot be validated`;

  it("is a warning in the HL7 validator's words, whatever the binding", () => {
    const expected = [{ severity: 'warning', code: 'not-found', message: notFound(nowhere) }];
    expect(tx.checkCode('', 'example', { system: nowhere, code: 'a', inCoding: true })).toEqual(expected);
    expect(
      tx.checkCodeableConcept(url('is-a-mammal'), 'preferred', [{ system: nowhere, code: 'a' }]),
    ).toEqual(expected);
    // A value set that includes the whole system: the one warning, not a second "could not be checked".
    expect(tx.checkCode(url('nowhere-or-dog'), 'extensible', { system: nowhere, code: 'a' })).toEqual(
      expected,
    );
    expect(
      tx.checkCodeableConcept(url('nowhere-or-dog'), 'required', [{ system: nowhere, code: 'a' }]),
    ).toEqual(expected);
  });

  it('is remembered for a bounded number of systems: instance data names them, a facade runs on', () => {
    const registry = new Registry();
    registry.loadCore();
    const fresh = createTerminology(registry);
    const count = MAX_REMEMBERED_MISSES + 50;
    for (let i = 0; i < count; i++) {
      const system = `https://nowhere.test/CodeSystem/${i}`;
      // Past the limit the answer is the same, looked up again.
      expect(fresh.checkCode('', 'example', { system, code: 'a', inCoding: true })).toEqual([
        { severity: 'warning', code: 'not-found', message: notFound(system) },
      ]);
    }
    const caches = fresh as unknown as Record<'codeSystems' | 'unheldIssues', Map<string, unknown>>;
    expect(caches.codeSystems.size).toBeLessThanOrEqual(MAX_REMEMBERED_MISSES);
    expect(caches.unheldIssues.size).toBeLessThanOrEqual(MAX_REMEMBERED_MISSES);
  });

  it('gives nothing for systems held here, or at a url that holds another resource', () => {
    expect(tx.checkCode('', 'example', { system: animals, code: 'dog' })).toEqual([]);
    expect(tx.checkCode('', 'example', { system: url('is-a-mammal'), code: 'dog' })).toEqual([]);
  });

  it("gives nothing for external systems the HL7 validator's terminology server holds", () => {
    for (const [system, code] of [
      ['http://snomed.info/sct', '38341003'],
      ['http://loinc.org', '8867-4'],
      ['http://unitsofmeasure.org', 'mg'],
      ['http://hl7.org/fhir/sid/icd-10', 'J06.9'],
      ['http://hl7.org/fhir/sid/icd-10-cm', 'J06.9'],
      ['http://www.whocc.no/atc', 'A10BA02'],
      ['urn:ietf:bcp:47', 'fi'],
      ['urn:iso:std:iso:3166', 'FI'],
    ]) {
      expect(tx.checkCode('', 'example', { system, code, inCoding: true }), system).toEqual([]);
    }
  });

  it("is information for a Finnish national code system of THL's code server (urn:oid:1.2.246.537.…)", () => {
    const thl = 'urn:oid:1.2.246.537.6.21';
    expect(tx.checkCode('', 'example', { system: thl, code: '091', inCoding: true })).toEqual([
      {
        severity: 'information',
        code: 'not-found',
        message: `${notFound(thl)} (a code system of THL's national code server, which no loaded package defines)`,
      },
    ]);
  });
});

describe('checkCodeableConcept', () => {
  const cat = 'http://hl7.org/fhir/ValueSet/observation-category';
  const catSystem = 'http://terminology.hl7.org/CodeSystem/observation-category';
  it('passes when any coding is in the value set', () => {
    expect(
      tx.checkCodeableConcept(url('is-a-mammal'), 'required', [
        { system: 'http://loinc.org', code: '1-8' },
        { system: animals, code: 'dog' },
      ]),
    ).toEqual([]);
  });
  it('required: none of the codings in the value set is an error', () => {
    expect(
      tx.checkCodeableConcept(url('is-a-mammal'), 'required', [{ system: animals, code: 'bird' }]),
    ).toEqual([
      {
        severity: 'error',
        code: 'code-invalid',
        message: `The code '${animals}#bird' is not in the required value set '${url('is-a-mammal')}'`,
      },
    ]);
  });
  it('text only: an error under a required binding, a warning under an extensible one, nothing under preferred', () => {
    expect(tx.checkCodeableConcept(url('is-a-mammal'), 'required', [], 'a pet')).toMatchObject([
      { severity: 'error', message: expect.stringContaining('No code provided') },
    ]);
    expect(tx.checkCodeableConcept(url('is-a-mammal'), 'extensible', [], 'a pet')).toEqual([
      {
        severity: 'warning',
        code: 'code-invalid',
        message: `No code provided (only text 'a pet'), and a code should be provided from the value set '${url('is-a-mammal')}'`,
      },
    ]);
    expect(tx.checkCodeableConcept(url('is-a-mammal'), 'preferred', [], 'a pet')).toEqual([]);
  });
  it("several codings outside the value set: one issue listing them, in the HL7 validator's words", () => {
    const codings = [
      { system: animals, code: 'bird' },
      { system: 'http://loinc.org', code: '1234-5' },
    ];
    const codes = `${animals}#bird, http://loinc.org#1234-5`;
    expect(tx.checkCodeableConcept(url('is-a-mammal'), 'extensible', codings)).toEqual([
      {
        severity: 'warning',
        code: 'code-invalid',
        message: `None of the codings provided are in the value set '${url('is-a-mammal')}', and a coding should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable) (codes = ${codes})`,
      },
    ]);
    expect(tx.checkCodeableConcept(url('is-a-mammal'), 'required', codings)).toEqual([
      {
        severity: 'error',
        code: 'code-invalid',
        message: `None of the codings provided are in the value set '${url('is-a-mammal')}', and a coding from this value set is required (codes = ${codes})`,
      },
    ]);
  });
  it('extensible: a coding from elsewhere is a warning', () => {
    expect(
      tx.checkCodeableConcept(cat, 'extensible', [{ system: 'http://loinc.org', code: '1234-5' }]),
    ).toEqual([
      {
        severity: 'warning',
        code: 'code-invalid',
        message: `The code 'http://loinc.org#1234-5' is not in the extensible value set '${cat}'`,
      },
    ]);
  });
  it('reports a wrong display on a matching coding', () => {
    expect(
      tx.checkCodeableConcept(cat, 'extensible', [
        { system: catSystem, code: 'vital-signs', display: 'Vital signs' },
      ]),
    ).toEqual([]);
    expect(
      tx.checkCodeableConcept(cat, 'extensible', [
        { system: catSystem, code: 'vital-signs', display: 'Vitals' },
      ]),
    ).toMatchObject([
      { severity: 'warning', code: 'invalid', message: expect.stringContaining("Wrong display 'Vitals'") },
    ]);
  });
  it('LOINC codes in an extensible LOINC value set are warned about, not rejected', () => {
    expect(
      tx.checkCodeableConcept('http://hl7.org/fhir/ValueSet/observation-codes', 'extensible', [
        { system: 'http://loinc.org', code: '8867-4' },
      ]),
    ).toMatchObject([{ severity: 'warning', code: 'not-supported' }]);
  });
});
