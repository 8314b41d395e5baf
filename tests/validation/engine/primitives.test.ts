import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { scanJsonText } from '../../../src/shared/json-text.ts';
import type { Validator } from '../../../src/validation/index.ts';
import { errors, patient, validator } from './helpers.ts';

let v: Validator;
beforeAll(async () => {
  v = await validator();
});

const obs = (extra: Record<string, unknown>) => ({
  resourceType: 'Observation',
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
  status: 'final',
  code: { text: 'x' },
  ...extra,
});

describe('primitive formats', () => {
  it('accepts real calendar dates including leap days', () => {
    expect(errors(v.validate(patient({ birthDate: '2000-02-29' })))).toEqual([]);
    expect(errors(v.validate(patient({ birthDate: '1984' })))).toEqual([]);
    expect(errors(v.validate(patient({ birthDate: '1984-07' })))).toEqual([]);
  });

  it('rejects dates that match the regex but not the calendar', () => {
    expect(errors(v.validate(patient({ birthDate: '1970-02-31' })))).toEqual([
      "Patient.birthDate | The value '1970-02-31' is not a valid date (that month has 28 days)",
    ]);
    expect(errors(v.validate(patient({ birthDate: '1900-02-29' })))).toEqual([
      "Patient.birthDate | The value '1900-02-29' is not a valid date (that month has 28 days)",
    ]);
    expect(errors(v.validate(obs({ effectiveDateTime: '2021-04-31T10:00:00Z' })))).toEqual([
      "Observation.effective.ofType(dateTime) | The value '2021-04-31T10:00:00Z' is not a valid date (that month has 30 days)",
    ]);
  });

  it('rejects values the definition regex does not allow', () => {
    expect(errors(v.validate(patient({ birthDate: '1980-13-01' })))).toEqual([
      "Patient.birthDate | The value '1980-13-01' is not a valid date",
    ]);
    expect(errors(v.validate(obs({ effectiveDateTime: '2021-04-01T10:00:00' })))).toEqual([
      "Observation.effective.ofType(dateTime) | The value '2021-04-01T10:00:00' is not a valid dateTime",
    ]);
    expect(errors(v.validate(obs({ issued: '2021-04-01' })))).toEqual([
      "Observation.issued | The value '2021-04-01' is not a valid instant",
    ]);
    expect(errors(v.validate(patient({ implicitRules: 'http://a b' })))).toEqual([
      "Patient.implicitRules | The value 'http://a b' is not a valid uri",
    ]);
    expect(errors(v.validate(patient({ language: 'fi  FI' })))).toEqual([
      "Patient.language | The value 'fi  FI' is not a valid code",
    ]);
  });

  it('checks the resource id format', () => {
    expect(errors(v.validate(patient({ id: 'a_b' })))).toEqual([
      "Patient.id | The value 'a_b' is not a valid id",
    ]);
    expect(errors(v.validate(patient({ id: 'x'.repeat(65) })))[0]).toMatch(
      /^Patient\.id \| The value 'x+\.\.\.' is not a valid id$/,
    );
  });

  it('accepts base64Binary with whitespace and rejects invalid characters', () => {
    const photo = (data: string) => patient({ photo: [{ contentType: 'image/png', data }] });
    expect(errors(v.validate(photo('aGVs\nbG8=')))).toEqual([]);
    expect(errors(v.validate(photo('aGVs*bG8=')))).toEqual([
      "Patient.photo[0].data | The value 'aGVs*bG8=' is not a valid base64Binary",
    ]);
  });

  it('checks integer ranges and JSON kinds', () => {
    const mb = (n: unknown) => patient({ multipleBirthInteger: n });
    expect(errors(v.validate(mb(2)))).toEqual([]);
    expect(errors(v.validate(mb(2147483648)))).toEqual([
      "Patient.multipleBirth.ofType(integer) | The value '2147483648' is outside the range of integer (-2147483648..2147483647)",
    ]);
    expect(errors(v.validate(mb(1.5)))).toEqual([
      "Patient.multipleBirth.ofType(integer) | The value '1.5' is not a valid integer (not a whole number)",
    ]);
    expect(errors(v.validate(mb('2')))).toEqual([
      'Patient.multipleBirth.ofType(integer) | Error parsing JSON: the primitive value must be a number (found string "2")',
    ]);
    expect(errors(v.validate(patient({ active: 'true' })))).toEqual([
      'Patient.active | Error parsing JSON: the primitive value must be a boolean (found string "true")',
    ]);
    const att = (size: unknown) => patient({ photo: [{ contentType: 'image/png', size }] });
    expect(errors(v.validate(att(-1)))).toEqual([
      "Patient.photo[0].size | The value '-1' is outside the range of unsignedInt (0..2147483647)",
    ]);
  });

  it('requires decimals to be JSON numbers', () => {
    const q = (value: unknown) => obs({ valueQuantity: { value } });
    expect(errors(v.validate(q(1.25)))).toEqual([]);
    expect(errors(v.validate(q('1.25')))).toEqual([
      'Observation.value.ofType(Quantity).value | Error parsing JSON: the primitive value must be a number (found string "1.25")',
    ]);
  });

  it('rejects an object where a primitive is expected', () => {
    expect(errors(v.validate(patient({ gender: { code: 'male' } })))).toEqual([
      'Patient.gender | Error parsing JSON: the primitive value must be a string (found an object)',
    ]);
  });
});

describe('a primitive whose value is invalid', () => {
  it('still has its extensions walked: only the value-dependent checks are skipped', () => {
    const resource = patient({
      birthDate: '1970-13-01',
      _birthDate: { extension: [{ url: 'http://foo.org/nope', valueCode: 'x' }] },
    });
    expect(errors(v.validate(resource))).toEqual([
      "Patient.birthDate | The value '1970-13-01' is not a valid date",
      "Patient.birthDate.extension[0] | Unknown extension 'http://foo.org/nope'",
    ]);
    // The same for a value of the wrong JSON kind, and for a code under its required binding.
    expect(
      errors(
        v.validate(
          patient({
            gender: 12,
            _gender: { extension: [{ url: 'http://foo.org/nope', valueCode: 'x' }] },
          }),
        ),
      ),
    ).toEqual([
      'Patient.gender | Error parsing JSON: the primitive value must be a string (found number 12)',
      "Patient.gender.extension[0] | Unknown extension 'http://foo.org/nope'",
    ]);
  });
});

describe('valuesInMessages: false', () => {
  it('drops the value from every message about it, also inside its extensions; the default quotes it', async () => {
    const v = await validator();
    const resource = patient({
      birthDate: '1981-02-30',
      multipleBirthInteger: 3000000000,
      deceasedBoolean: 'Kuoli 2024',
      name: [{ text: 4012345678 }],
      _gender: {
        extension: [
          { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'not a code' },
        ],
      },
    });
    const quiet = errors(v.validate(resource, { valuesInMessages: false })).join('\n');
    expect(quiet).toContain("Patient.birthDate | The value '…' is not a valid date (that month has 28 days)");
    expect(quiet).toContain(
      "Patient.multipleBirth.ofType(integer) | The value '…' is outside the range of integer",
    );
    expect(quiet).toContain("The code '…' is not in the required value set");
    expect(quiet).toContain(
      'Patient.deceased.ofType(boolean) | Error parsing JSON: the primitive value must be a boolean (found a string)',
    );
    expect(quiet).toContain(
      'Patient.name[0].text | Error parsing JSON: the primitive value must be a string (found a number)',
    );
    for (const v of ['1981-02-30', '3000000000', 'not a code', 'Kuoli', '4012345678'])
      expect(quiet).not.toContain(v);
    expect(errors(v.validate(resource)).join('\n')).toContain("The value '1981-02-30' is not a valid date");
  });

  it('drops a long value the message clips, a wrong-kind string with quotes, and codes listed as system#code', async () => {
    const v = await validator();
    const long = `Asiakas Korhonen kertoi ${'x'.repeat(60)}`;
    const resource = patient({
      birthDate: long,
      active: '<b class="x">Korhonen 010181-900C</b>',
      maritalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'ZZSECRET' },
          { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'QQSECRET' },
        ],
      },
    });
    const quiet = (v.validate(resource, { valuesInMessages: false }).issue ?? [])
      .map((i) => `${i.expression?.[0]} | ${i.diagnostics}`)
      .join('\n');
    expect(quiet).toContain("Patient.birthDate | The value '…' is not a valid date");
    expect(quiet).toContain(
      'Patient.active | Error parsing JSON: the primitive value must be a boolean (found a string)',
    );
    for (const secret of ['Korhonen', '010181-900C', 'ZZSECRET', 'QQSECRET'])
      expect(quiet).not.toContain(secret);
  });

  it('drops the codes, displays and texts of Codings, CodeableConcepts, Identifiers and References from the checks on them', async () => {
    const v = await validator();
    const resource = patient({
      maritalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'ZZSECRET' }],
      },
      contact: [
        {
          relationship: [
            { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0131', code: 'QQSECRET' }] },
          ],
          name: { family: 'Korhonen' },
        },
      ],
      identifier: [{ system: 'urn:ietf:rfc:3986', value: 'not-an-uri-SECRET' }],
      generalPractitioner: [
        { reference: 'Practitioner?identifier=x|RRSECRET has space', display: 'DDSECRET' },
      ],
    });
    const all = (opts?: { valuesInMessages: false }) =>
      (v.validate(resource, opts).issue ?? [])
        .map((i) => `${i.expression?.[0]} | ${i.diagnostics}`)
        .join('\n');
    const quiet = all({ valuesInMessages: false });
    expect(quiet).toContain(
      "Patient.maritalStatus | Patient.maritalStatus: Unknown code '…' in the CodeSystem 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus'",
    );
    expect(quiet).toContain(
      "Patient.contact[0].relationship[0] | Patient.contact.relationship: Unknown code '…'",
    );
    expect(quiet).toContain('Identifier.value must be an absolute URI');
    expect(quiet).toContain("Reference '…' is not valid: it contains whitespace");
    for (const secret of ['ZZSECRET', 'QQSECRET', 'not-an-uri-SECRET', 'RRSECRET', 'DDSECRET'])
      expect(quiet).not.toContain(secret);
    // The default quotes them, as the HL7 validator does.
    expect(all()).toContain("Unknown code 'ZZSECRET'");
  });
  it('drops ids and urls of the instance from the bundle, reference, contained and dom-3 findings', () => {
    const secret = '131052-308T';
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { fullUrl: `http://x.org/fhir/Patient/${secret}`, resource: patient({ id: 'p1' }) },
        { fullUrl: `http://x.org/fhir/Patient/${secret}`, resource: patient({ id: 'p2' }) },
        { fullUrl: `Patient/${secret}`, resource: patient({ id: 'p3' }) },
      ],
    };
    const contained = patient({
      contained: [
        { resourceType: 'Organization', id: secret, name: 'x' },
        { resourceType: 'Organization', id: secret, name: 'y' },
      ],
      managingOrganization: { reference: `#${secret}x` },
    });
    const all = (r: unknown, opts?: { valuesInMessages: false }) =>
      (v.validate(r, opts).issue ?? []).map((i) => `${i.expression?.[0]} | ${i.diagnostics}`);
    const quiet = [
      ...all(bundle, { valuesInMessages: false }),
      ...all(contained, { valuesInMessages: false }),
    ];
    for (const expected of [
      "Bundle.entry[0].fullUrl | The fullUrl '…' is a RESTful URL, so it must end with the resource's type and id (Patient/p1)",
      "Bundle.entry[2].fullUrl | Bundle.entry.fullUrl must be an absolute URL (found '…')",
      "Bundle | bdl-7: FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different meta.versionId (duplicate '…' at entry 1)",
      "Patient.managingOrganization.reference | ref-1: SHALL have a contained resource if a local reference is provided (no contained resource has id '…')",
      "Patient.contained[0] | dom-3: The contained resource '…' is not referenced to from elsewhere in the containing resource nor does it refer to the containing resource",
      "Patient.contained[1] | Duplicate contained resource id '…'",
    ])
      expect(quiet).toContain(expected);
    expect(quiet.filter((m) => m.includes(secret))).toEqual([]);
    // The default quotes them, as the HL7 validator does.
    const loud = [...all(bundle), ...all(contained)].join('\n');
    expect(loud).toContain(`The fullUrl 'http://x.org/fhir/Patient/${secret}' is a RESTful URL`);
    expect(loud).toContain(`(duplicate 'http://x.org/fhir/Patient/${secret}' at entry 1)`);
    expect(loud).toContain(`(found 'Patient/${secret}')`);
    expect(loud).toContain(`(no contained resource has id '${secret}x')`);
    expect(loud).toContain(`The contained resource '${secret}' is not referenced`);
    expect(loud).toContain(`Duplicate contained resource id '${secret}'`);
  });
  it("drops an Attachment's stated hash and size, and never prints the hash of its data", () => {
    // The data's SHA-1 fingerprints the client's document: it is left out whatever the option.
    const data = Buffer.from('Hei Kalle, HIV-positiivinen').toString('base64');
    const actual = createHash('sha1').update(Buffer.from(data, 'base64')).digest('base64');
    const stated = Buffer.from('CLIENT-SUPPLIED-HASH').toString('base64');
    const resource = patient({ photo: [{ contentType: 'text/plain', data, hash: stated, size: 99 }] });
    const quiet = errors(v.validate(resource, { valuesInMessages: false }));
    expect(quiet).toEqual([
      "Patient.photo[0] | Attachment.size: stated attachment size '…' does not match the actual size of data ('…' bytes)",
      "Patient.photo[0] | Attachment.hash: stated hash '…' does not match the SHA-1 hash of data",
    ]);
    const loud = errors(v.validate(resource)).join('\n');
    expect(loud).toContain(`stated hash '${stated}' does not match the SHA-1 hash of data`);
    expect(loud).toContain("stated attachment size '99' does not match the actual size of data ('27' bytes)");
    expect(loud).not.toContain(actual);
    expect(loud).not.toContain(actual.slice(0, 8));
  });
  it("drops a document's unreachable entry and a Bundle reference's url from their findings", () => {
    const secret = '131052-308T';
    const document = {
      resourceType: 'Bundle',
      type: 'document',
      identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:8f0c2a4e-5d1b-4c3e-9a7f-2b6d8e1f0a93' },
      timestamp: '2026-01-01T00:00:00Z',
      entry: [
        {
          fullUrl: 'http://x.org/fhir/Composition/c1',
          resource: {
            resourceType: 'Composition',
            id: 'c1',
            status: 'final',
            type: { text: 'x' },
            date: '2026-01-01',
            author: [{ display: 'a' }],
            title: 't',
            subject: { reference: `Patient/${secret}/_history/2` },
          },
        },
        {
          fullUrl: `http://x.org/fhir/Patient/${secret}`,
          resource: patient({ id: secret, meta: { versionId: '1' } }),
        },
        { fullUrl: `http://x.org/fhir/Patient/${secret}0`, resource: patient({ id: `${secret}0` }) },
      ],
    };
    const messages = (opts?: { valuesInMessages: false }) =>
      (v.validate(document, opts).issue ?? []).map((i) => i.diagnostics ?? '');
    const quiet = messages({ valuesInMessages: false });
    expect(quiet).toContain(
      "The reference '…' asks for version 2, but the Bundle entry it resolves to has meta.versionId 1",
    );
    expect(quiet).toContain(
      "Entry '…' isn't reachable by traversing links (forward or backward) from the Composition",
    );
    expect(quiet.filter((m) => m.includes(secret))).toEqual([]);
    const loud = messages().join('\n');
    expect(loud).toContain(`The reference 'Patient/${secret}/_history/2' asks for version 2`);
    expect(loud).toContain(`Entry 'http://x.org/fhir/Patient/${secret}0' isn't reachable`);
  });
});

describe('numbers as written in the JSON text', () => {
  /** The resource as the facade and the CLI read it: JSON.parse plus the text scan. */
  const fromText = (text: string) => {
    const value = JSON.parse(text);
    scanJsonText(text, value);
    return value;
  };
  const observation = (value: string) =>
    `{"resourceType":"Observation","text":{"status":"generated","div":"<div xmlns=\\"http://www.w3.org/1999/xhtml\\">x</div>"},"status":"final","code":{"text":"x"},${value}}`;

  it('an integer written with a fraction or exponent is not a valid integer, as the HL7 validator judges the text', () => {
    expect(errors(v.validate(fromText(observation('"valueInteger":1.0'))))).toEqual([
      "Observation.value.ofType(integer) | The value '1.0' is not a valid integer",
    ]);
    expect(errors(v.validate(fromText(observation('"valueInteger":1e2'))))).toEqual([
      "Observation.value.ofType(integer) | The value '1e2' is not a valid integer",
    ]);
    expect(
      errors(
        v.validate(
          fromText(
            observation(
              '"component":[{"code":{"text":"a"},"valueInteger":3},{"code":{"text":"b"},"valueInteger":2.00}]',
            ),
          ),
        ),
      ),
    ).toEqual(["Observation.component[1].value.ofType(integer) | The value '2.00' is not a valid integer"]);
  });

  it('a decimal may be written so, and the same parsed value without its text is judged as before', () => {
    expect(errors(v.validate(fromText(observation('"valueQuantity":{"value":1.0}'))))).toEqual([]);
    expect(errors(v.validate(JSON.parse(observation('"valueInteger":1.0'))))).toEqual([]);
  });

  it('without values in messages the finding names the element and the type only', () => {
    expect(
      errors(v.validate(fromText(observation('"valueInteger":1.0')), { valuesInMessages: false })),
    ).toEqual(['Observation.value.ofType(integer) | The value as written is not a valid integer']);
  });
});
