// Rules compared with the HL7 reference validator's InstanceValidator (org.hl7.fhir.core): each case
// asserts every issue the engine gives (severity, expression and diagnostics), not just one of them.
import type { OperationOutcome } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAsWritten, scanJsonText, stringifyAsWritten } from '../../../src/shared/json-text.ts';
import type { Validator } from '../../../src/validation/index.ts';
import { patient, validator } from './helpers.ts';

let v: Validator;
beforeAll(async () => {
  v = await validator();
});

/** Every issue but the single "All OK" one, as `severity | expression | diagnostics`. */
function issues(oo: OperationOutcome): string[] {
  return (oo.issue ?? [])
    .filter((i) => i.severity !== 'information' || i.diagnostics !== 'All OK')
    .map((i) => `${i.severity} | ${i.expression?.[0] ?? ''} | ${i.diagnostics}`);
}

const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
const observation = (extra: Record<string, unknown>) => ({
  resourceType: 'Observation',
  id: 'o',
  text,
  status: 'final',
  code: { text: 'x' },
  ...extra,
});

describe('system URIs (checkIdentifier, checkCodedElement)', () => {
  it('an Identifier.system must start http:, https:, urn: or ldap:', () => {
    expect(
      issues(v.validate(patient({ identifier: [{ system: 'ftp://example.fi/ids', value: '1' }] }))),
    ).toEqual([
      "error | Patient.identifier[0] | Identifier.system must be an absolute reference, not a local reference ('ftp://example.fi/ids')",
    ]);
    expect(
      issues(v.validate(patient({ identifier: [{ system: 'tag:example.fi,2020:ids', value: '1' }] }))),
    ).toEqual([
      "error | Patient.identifier[0] | Identifier.system must be an absolute reference, not a local reference ('tag:example.fi,2020:ids')",
    ]);
    expect(
      issues(v.validate(patient({ identifier: [{ system: 'ldap://example.fi/ids', value: '1' }] }))),
    ).toEqual([]);
    expect(
      issues(v.validate(patient({ identifier: [{ system: 'urn:oid:1.2.246.21', value: '1' }] }))),
    ).toEqual([]);
  });

  it('a Coding.system must start http:, https: or urn: (ldap: is for identifiers only)', () => {
    expect(
      issues(v.validate(patient({ meta: { tag: [{ system: 'ftp://example.fi/tags', code: 'x' }] } }))),
    ).toEqual([
      "error | Patient.meta.tag[0] | Coding.system must be an absolute reference, not a local reference ('ftp://example.fi/tags')",
    ]);
    expect(
      issues(v.validate(patient({ meta: { tag: [{ system: 'ldap://example.fi/tags', code: 'x' }] } }))),
    ).toEqual([
      "error | Patient.meta.tag[0] | Coding.system must be an absolute reference, not a local reference ('ldap://example.fi/tags')",
    ]);
    // A system reference: no error; a code system nobody here defines, so the HL7 validator's warning.
    expect(
      issues(v.validate(patient({ meta: { tag: [{ system: 'urn:example:tags', code: 'x' }] } }))),
    ).toEqual([
      "warning | Patient.meta.tag[0] | A definition for CodeSystem 'urn:example:tags' could not be found, so the code cannot be validated",
    ]);
  });
});

describe('fixed values (checkFixedValue)', () => {
  it('a primitive with a fixed value carries no extensions the fixed value does not have', () => {
    const weight = (system: Record<string, unknown>) =>
      observation({
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
            ],
          },
        ],
        code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
        subject: { reference: 'Patient/1' },
        effectiveDateTime: '2020-01-01',
        valueQuantity: { value: 70, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg', ...system },
      });
    const dar = {
      extension: [
        { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' },
      ],
    };
    expect(issues(v.validate(weight({})))).toEqual([]);
    expect(issues(v.validate(weight({ _system: dar })))).toEqual([
      "error | Observation.value.ofType(Quantity).system | Observation.value[x].system: No extensions allowed, as the specified fixed value doesn't contain any extensions (from http://hl7.org/fhir/StructureDefinition/bodyweight)",
    ]);
  });
});

describe('security labels (validateResourceRules)', () => {
  it('the same system and code twice is an error at the repeat', () => {
    const R = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
    const N = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' };
    expect(issues(v.validate(patient({ meta: { security: [R, N] } })))).toEqual([]);
    expect(issues(v.validate(patient({ meta: { security: [R, N, R] } })))).toEqual([
      'error | Patient.meta.security[2] | Duplicate Security Label http://terminology.hl7.org/CodeSystem/v3-Confidentiality#R',
    ]);
  });
});

describe('contained resources (checkContainedReferences, validateContains)', () => {
  const org = (id: string | undefined, name: string) => ({
    resourceType: 'Organization',
    ...(id ? { id } : {}),
    name,
  });
  const orphan = (id: string) =>
    `error | Patient.contained[${id}] | dom-3: The contained resource 'o1' is not referenced to from elsewhere in the containing resource nor does it refer to the containing resource`;

  it('each unreferenced contained resource is reported at itself, naming dom-3', () => {
    expect(issues(v.validate(patient({ contained: [org('o1', 'a')] })))).toEqual([orphan('0')]);
    expect(
      issues(
        v.validate(
          patient({
            contained: [org('o2', 'b'), org('o1', 'a')],
            managingOrganization: { reference: '#o2' },
          }),
        ),
      ),
    ).toEqual([orphan('1')]);
  });

  it('two contained resources with one id: a duplicate, and both referenced by it', () => {
    expect(
      issues(
        v.validate(
          patient({
            contained: [org('o1', 'a'), org('o1', 'b')],
            managingOrganization: { reference: '#o1' },
          }),
        ),
      ),
    ).toEqual(["error | Patient.contained[1] | Duplicate contained resource id 'o1'"]);
  });

  it('a contained resource without an id needs one, and nothing can reference it', () => {
    expect(issues(v.validate(patient({ contained: [org(undefined, 'a')] })))).toEqual([
      'error | Patient.contained[0] | dom-3: The contained resource (no id) is not referenced to from elsewhere in the containing resource nor does it refer to the containing resource',
      'error | Patient.contained[0] | Resource requires an id, but none is present',
    ]);
  });
});

describe('reasonable years (checkPrimitive)', () => {
  const outside = (path: string, value: string) =>
    `warning | ${path} | The value '${value}' is outside the range of reasonable years - check for data entry error`;
  const last = new Date().getUTCFullYear() + 80;

  it('a date, dateTime or instant before 1800 or more than 80 years ahead gets a warning', () => {
    expect(issues(v.validate(patient({ birthDate: '1066-01-01' })))).toEqual([
      outside('Patient.birthDate', '1066-01-01'),
    ]);
    expect(issues(v.validate(observation({ effectiveDateTime: '2300-01-01' })))).toEqual([
      outside('Observation.effective.ofType(dateTime)', '2300-01-01'),
    ]);
    expect(issues(v.validate(observation({ issued: `${last + 1}-01-01T00:00:00Z` })))).toEqual([
      outside('Observation.issued', `${last + 1}-01-01T00:00:00Z`),
    ]);
    expect(issues(v.validate(patient({ birthDate: '1800' })))).toEqual([]);
    expect(issues(v.validate(observation({ effectiveDateTime: `${last}-12-31` })))).toEqual([]);
  });

  it('without values in messages the value is left out', () => {
    expect(issues(v.validate(patient({ birthDate: '1066-01-01' }), { valuesInMessages: false }))).toEqual([
      "warning | Patient.birthDate | The value '…' is outside the range of reasonable years - check for data entry error",
    ]);
  });
});

describe('attachments (checkAttachment)', () => {
  it('without data or url, an attachment should say its contentType or language', () => {
    expect(issues(v.validate(patient({ photo: [{ title: 'x' }] })))).toEqual([
      'warning | Patient.photo[0] | Attachments have data and/or url, or else SHOULD have either contentType and/or language',
    ]);
    expect(issues(v.validate(patient({ photo: [{ title: 'x', contentType: 'image/png' }] })))).toEqual([]);
    expect(issues(v.validate(patient({ photo: [{ url: 'https://example.fi/p.png' }] })))).toEqual([]);
  });
});

describe('references (checkReference)', () => {
  it('a Reference with neither reference nor identifier should have a display', () => {
    expect(issues(v.validate(patient({ managingOrganization: { type: 'Organization' } })))).toEqual([
      'warning | Patient.managingOrganization | A Reference without an actual reference or identifier should have a display',
    ]);
    expect(issues(v.validate(patient({ managingOrganization: { display: 'Sote' } })))).toEqual([]);
    expect(
      issues(
        v.validate(
          patient({ managingOrganization: { identifier: { system: 'urn:oid:1.2.246.10', value: '1' } } }),
        ),
      ),
    ).toEqual([]);
  });
});

describe('extensions in the domains the HL7 validator always knows (isKnownExtension)', () => {
  const ext = (url: string) => patient({ extension: [{ url, valueString: 'x' }] });
  it('nema.org and the HL7 tools space are silent; example domains keep their warning', () => {
    expect(issues(v.validate(ext('http://nema.org/fhir/ext')))).toEqual([]);
    expect(issues(v.validate(ext('http://hl7.org/fhir/tools/StructureDefinition/nope')))).toEqual([]);
    expect(issues(v.validate(ext('http://example.org/fhir/ext')))).toEqual([
      "warning | Patient.extension[0] | Unknown extension 'http://example.org/fhir/ext'",
    ]);
  });
});

describe('a primitive holding only white space (checkPrimitive)', () => {
  it('gets only the warning, not a format error', () => {
    expect(issues(v.validate(patient({ birthDate: '   ' })))).toEqual([
      'warning | Patient.birthDate | Primitive types should not only be whitespace',
    ]);
    expect(issues(v.validate(patient({ name: [{ given: ['\t '] }] })))).toEqual([
      'warning | Patient.name[0].given[0] | Primitive types should not only be whitespace',
    ]);
  });

  it('with extensions it gets no warning', () => {
    const dar = {
      extension: [
        { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' },
      ],
    };
    expect(issues(v.validate(patient({ birthDate: '   ', _birthDate: dar })))).toEqual([]);
  });

  it('under a required binding it is also no code', () => {
    expect(issues(v.validate(patient({ gender: '  ' })))).toEqual([
      'warning | Patient.gender | Primitive types should not only be whitespace',
      "error | Patient.gender | Patient.gender: No code provided, and a code is required from the value set 'AdministrativeGender' (http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1)",
    ]);
  });
});

describe('decimals as written in the JSON text (checkPrimitive, Utilities.checkDecimal)', () => {
  const fromText = (json: string) => {
    const value = JSON.parse(json);
    scanJsonText(json, value);
    return value;
  };
  const obsText = (value: string) =>
    `{"resourceType":"Observation","id":"o","text":{"status":"generated","div":"<div xmlns=\\"http://www.w3.org/1999/xhtml\\">x</div>"},"status":"final","code":{"text":"x"},${value}}`;

  it('an exponent of up to four digits is a valid decimal, judged on its text', () => {
    expect(issues(v.validate(fromText(obsText('"valueQuantity":{"value":1e400}'))))).toEqual([]);
    expect(issues(v.validate(fromText(obsText('"valueInteger":1e400'))))).toEqual([
      "error | Observation.value.ofType(integer) | The value '1e400' is not a valid integer",
    ]);
  });

  it('more than 18 digits or a five-digit exponent: a warning quoting the text', () => {
    expect(
      issues(v.validate(fromText(obsText('"valueQuantity":{"value":0.1000000000000000000000000000001}')))),
    ).toEqual([
      "warning | Observation.value.ofType(Quantity).value | The value '0.1000000000000000000000000000001' is outside the range of commonly/reasonably supported decimals",
    ]);
    expect(issues(v.validate(fromText(obsText('"valueQuantity":{"value":123456789012345678901}'))))).toEqual([
      "warning | Observation.value.ofType(Quantity).value | The value '123456789012345678901' is outside the range of commonly/reasonably supported decimals",
    ]);
    expect(issues(v.validate(fromText(obsText('"valueQuantity":{"value":1e-10000}'))))).toEqual([
      "warning | Observation.value.ofType(Quantity).value | The value '1e-10000' is outside the range of commonly/reasonably supported decimals",
    ]);
    expect(issues(v.validate(fromText(obsText('"valueQuantity":{"value":123456789012345678}'))))).toEqual([]);
  });

  it('without values in messages, neither the text nor the parsed value is quoted', () => {
    const oo = v.validate(fromText(obsText('"valueQuantity":{"value":0.1000000000000000000000000000001}')), {
      valuesInMessages: false,
    });
    expect(issues(oo)).toEqual([
      "warning | Observation.value.ofType(Quantity).value | The value '…' is outside the range of commonly/reasonably supported decimals",
    ]);
    expect(
      issues(
        v.validate(fromText(obsText('"valueInteger":12345678901234567890')), { valuesInMessages: false }),
      ),
    ).toEqual([
      "error | Observation.value.ofType(integer) | The value '…' is outside the range of integer (-2147483648..2147483647)",
    ]);
  });

  it('stored text keeps such numbers as written through parseAsWritten and stringifyAsWritten', () => {
    for (const stored of [
      '{"a":0.1000000000000000000000000000001}',
      '{"b":12345678901234567890,"d":12.5}',
      '{"c":[1e400]}',
    ])
      expect(stringifyAsWritten(parseAsWritten(stored))).toBe(stored);
  });

  it('a whole number beyond JavaScript precision is quoted as written', () => {
    expect(issues(v.validate(fromText(obsText('"valueInteger":12345678901234567890'))))).toEqual([
      "error | Observation.value.ofType(integer) | The value '12345678901234567890' is outside the range of integer (-2147483648..2147483647)",
    ]);
  });
});
