import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { errors, patient, validator, warnings } from './helpers.ts';

let v: Validator;
beforeAll(async () => {
  v = await validator();
});

const BIRTHPLACE = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace';
const obs = (extra: Record<string, unknown>) => ({
  resourceType: 'Observation',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
  status: 'final',
  code: { text: 'x' },
  ...extra,
});

describe('extensions', () => {
  it('resolves a known extension and accepts valid content', () => {
    const oo = v.validate(patient({ extension: [{ url: BIRTHPLACE, valueAddress: { city: 'Oulu' } }] }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toEqual([]);
  });

  // A value of an excluded type is still the value: no "minimum required" for value[x] beside the type error.
  it('validates the value type of a resolved extension', () => {
    expect(errors(v.validate(patient({ extension: [{ url: BIRTHPLACE, valueBoolean: true }] })))).toEqual([
      `Patient.extension[0].valueBoolean | Extension.value[x]: the type 'boolean' is not allowed here (allowed: Address) (from ${BIRTHPLACE})`,
    ]);
  });

  it('checks the extension context', () => {
    expect(
      errors(v.validate(obs({ extension: [{ url: BIRTHPLACE, valueAddress: { city: 'Oulu' } }] }))),
    ).toEqual([
      `Observation.extension[0] | The extension ${BIRTHPLACE} is not allowed to be used at this point (allowed: Patient; this element is Observation of type Observation)`,
    ]);
  });

  it('checks the context of extensions on primitives and datatypes', () => {
    const ok = patient({
      birthDate: '1980-01-01',
      _birthDate: {
        extension: [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
            valueDateTime: '1980-01-01T10:00:00+02:00',
          },
        ],
      },
    });
    expect(errors(v.validate(ok))).toEqual([]);
    const wrong = patient({
      name: [
        {
          family: 'A',
          extension: [
            {
              url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
              valueDateTime: '1980-01-01T10:00:00+02:00',
            },
          ],
        },
      ],
    });
    expect(errors(v.validate(wrong))).toEqual([
      'Patient.name[0].extension[0] | The extension http://hl7.org/fhir/StructureDefinition/patient-birthTime is not allowed to be used at this point (allowed: Patient.birthDate; this element is Patient.name of type HumanName)',
    ]);
  });

  it('validates complex extensions (nested slices and cardinality)', () => {
    const NATIONALITY = 'http://hl7.org/fhir/StructureDefinition/patient-nationality';
    const ok = patient({
      extension: [{ url: NATIONALITY, extension: [{ url: 'code', valueCodeableConcept: { text: 'FI' } }] }],
    });
    expect(errors(v.validate(ok))).toEqual([]);
    const bad = patient({
      extension: [{ url: NATIONALITY, extension: [{ url: 'code', valueString: 'FI' }] }],
    });
    expect(errors(v.validate(bad))).toEqual([
      `Patient.extension[0].extension[0].valueString | Extension.extension.value[x]: the type 'string' is not allowed here (allowed: CodeableConcept) (from ${NATIONALITY})`,
    ]);
  });

  it('warns about an unknown extension', () => {
    const oo = v.validate(patient({ extension: [{ url: 'http://example.org/unknown', valueString: 'x' }] }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toEqual(["Patient.extension[0] | Unknown extension 'http://example.org/unknown'"]);
  });

  it('rejects an unknown modifierExtension', () => {
    const url = 'https://unknown.invalid/fhir/StructureDefinition/modify';
    expect(errors(v.validate(patient({ modifierExtension: [{ url, valueString: 'x' }] })))).toEqual([
      `Patient.modifierExtension[0] | Unknown modifierExtension '${url}': it cannot be understood, so the resource cannot be processed safely`,
    ]);
  });

  it('an unknown modifierExtension in an example domain warns while examples are allowed (as HL7), else is an error', async () => {
    const resource = patient({
      modifierExtension: [{ url: 'http://example.org/unknown', valueString: 'x' }],
    });
    const message =
      "Patient.modifierExtension[0] | Unknown modifierExtension 'http://example.org/unknown': it cannot be understood, so the resource cannot be processed safely";
    const oo = v.validate(resource);
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toContain(message);
    const strict = await createValidator({ allowExamples: false });
    expect(errors(strict.validate(resource))).toContain(message);
  });

  it('requires Extension.url', () => {
    expect(errors(v.validate(patient({ extension: [{ valueString: 'x' }] })))).toEqual([
      'Patient.extension[0] | Extension.url: minimum required = 1, but only found 0',
    ]);
  });
});

describe('bindings', () => {
  it('rejects a code outside a required binding (code)', () => {
    expect(errors(v.validate(patient({ gender: 'mies' })))).toEqual([
      "Patient.gender | Patient.gender: The code 'mies' is not in the required value set 'http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1'",
    ]);
  });

  it('rejects a Quantity comparator outside its required binding inside a datatype', () => {
    expect(errors(v.validate(obs({ valueQuantity: { value: 1, comparator: '=' } })))).toEqual([
      "Observation.value.ofType(Quantity).comparator | Quantity.comparator: The code '=' is not in the required value set 'http://hl7.org/fhir/ValueSet/quantity-comparator|4.0.1'",
    ]);
  });

  it('warns about a code outside an extensible binding (CodeableConcept)', () => {
    const oo = v.validate(
      patient({ maritalStatus: { coding: [{ system: 'http://example.org/cs', code: 'x' }] } }),
    );
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo).some((w) => w.startsWith('Patient.maritalStatus | Patient.maritalStatus: '))).toBe(
      true,
    );
  });

  it('checks the code of an unbound Coding against a CodeSystem we hold', () => {
    const o = obs({
      code: { coding: [{ system: 'http://hl7.org/fhir/administrative-gender', code: 'bogus' }] },
    });
    expect(errors(v.validate(o))).toEqual([
      "Observation.code.coding[0] | Unknown code 'bogus' in the CodeSystem 'http://hl7.org/fhir/administrative-gender'",
    ]);
  });

  it('reports a bad code in a bound CodeableConcept once, at the CodeableConcept', () => {
    const a = {
      resourceType: 'AllergyIntolerance',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
      patient: { reference: 'Patient/1' },
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'bogus' },
        ],
      },
    };
    const found = (v.validate(a).issue ?? []).filter((i) => i.diagnostics?.includes("Unknown code 'bogus'"));
    expect(found.map((i) => i.expression?.[0])).toEqual(['AllergyIntolerance.clinicalStatus']);
  });

  it('accepts codes inside required and extensible bindings', () => {
    const oo = v.validate(
      patient({
        gender: 'female',
        maritalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }],
        },
      }),
    );
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toEqual([]);
  });
});

describe('codings in a code system we do not hold', () => {
  const issues = (r: unknown) =>
    (v.validate(r).issue ?? [])
      .filter((i) => i.diagnostics !== 'All OK')
      .map((i) => `${i.severity} | ${i.expression?.[0]} | ${i.diagnostics}`);

  it("warn once, at the coding (unbound) or the bound element, in the HL7 validator's words", () => {
    const system = 'https://nowhere.test/CodeSystem/tags';
    const notFound = `A definition for CodeSystem '${system}' could not be found, so the code cannot be validated`;
    expect(issues(patient({ meta: { tag: [{ system, code: 'x' }] } }))).toEqual([
      `warning | Patient.meta.tag[0] | ${notFound}`,
    ]);
    const found = issues(patient({ maritalStatus: { coding: [{ system, code: 'x' }] } }));
    expect(found.filter((i) => i.includes('could not be found'))).toEqual([
      `warning | Patient.maritalStatus | Patient.maritalStatus: ${notFound}`,
    ]);
  });

  it('say nothing for SNOMED CT or LOINC, which the HL7 validator checks on its terminology server', () => {
    const code = {
      coding: [
        { system: 'http://loinc.org', code: '2339-0' },
        { system: 'http://snomed.info/sct', code: '33747003' },
      ],
    };
    expect(issues(obs({ code }))).toEqual([]);
  });
});
