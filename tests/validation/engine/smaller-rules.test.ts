// Smaller rules of the validator parity issue that need data too large for a case file.
import { describe, expect, it } from 'vitest';
import { errors, patient, validator, warnings } from './helpers.ts';

describe('strings over 1 MB', () => {
  it('a string of exactly 1 MB is fine; one character more is an error naming the limit', async () => {
    const v = await validator();
    const limit = 1024 * 1024;
    expect(errors(v.validate(patient({ name: [{ text: 'a'.repeat(limit) }] })))).toEqual([]);
    expect(errors(v.validate(patient({ name: [{ text: 'a'.repeat(limit + 1) }] })))).toEqual([
      `Patient.name[0].text | HumanName.text: the value is longer than the permitted maximum of 1 MB (${limit} characters)`,
    ]);
  });
});

describe('unknownExtensions option', () => {
  const unknown = 'https://unknown.invalid/fhir/StructureDefinition/x';
  const fiBaseUrl = 'https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/not-loaded-here';
  const resource = (url: string) => patient({ extension: [{ url, valueString: 'a' }] });
  it("'auto' (default) errs outside the known packages' canonical bases, warns inside one not loaded", async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    const v = await createValidator({ fiBase: false });
    expect(errors(v.validate(resource(unknown)))).toEqual([
      `Patient.extension[0] | Unknown extension '${unknown}'`,
    ]);
    expect(errors(v.validate(resource(fiBaseUrl)))).toEqual([]);
    expect(warnings(v.validate(resource(fiBaseUrl)))).toContain(
      `Patient.extension[0] | Unknown extension '${fiBaseUrl}'`,
    );
    expect(errors(v.validate(resource('http://example.org/x')))).toEqual([]);
  });
  it("'error' also errs under a known package not loaded; 'warning' never errs", async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    const strict = await createValidator({ fiBase: false, unknownExtensions: 'error' });
    expect(errors(strict.validate(resource(fiBaseUrl)))).toEqual([
      `Patient.extension[0] | Unknown extension '${fiBaseUrl}'`,
    ]);
    expect(errors(strict.validate(resource('http://example.org/x')))).toEqual([]);
    const lenient = await createValidator({ fiBase: false, unknownExtensions: 'warning' });
    expect(errors(lenient.validate(resource(unknown)))).toEqual([]);
  });
});

describe('SearchParameter derivedFrom and CapabilityStatement searchParam types', () => {
  const parent = {
    resourceType: 'SearchParameter',
    id: 'parent',
    url: 'http://example.org/fhir/SearchParameter/parent',
    name: 'Parent',
    status: 'active',
    description: 'x',
    code: 'parent',
    base: ['Patient', 'Practitioner'],
    type: 'string',
    expression: 'Patient.name | Practitioner.name',
  };
  const text = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
  const derived = (extra: Record<string, unknown>) => ({
    ...parent,
    id: 'child',
    url: 'http://example.org/fhir/SearchParameter/child',
    name: 'Child',
    code: 'child',
    text,
    derivedFrom: parent.url,
    ...extra,
  });
  const cs = (type: string) => ({
    resourceType: 'CapabilityStatement',
    id: 'cs',
    text,
    status: 'active',
    date: '2024-01-01',
    kind: 'instance',
    implementation: { description: 'x' },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        resource: [{ type: 'Patient', searchParam: [{ name: 'parent', definition: parent.url, type }] }],
      },
    ],
  });
  it('a derived SearchParameter keeps its parent type and bases; a CapabilityStatement keeps its types', async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    const v = await createValidator({ fiBase: false, resources: [parent as never] });
    expect(errors(v.validate(derived({ base: ['Patient'] })))).toEqual([]);
    expect(errors(v.validate(derived({ type: 'token', base: ['Patient', 'Organization'] })))).toEqual([
      "SearchParameter.type | SearchParameter.type 'token' differs from the type 'string' of the SearchParameter it is derived from",
      "SearchParameter.base[1] | SearchParameter.base 'Organization' is not a base of the SearchParameter it is derived from (Patient, Practitioner)",
    ]);
    expect(errors(v.validate(cs('string')))).toEqual([]);
    expect(errors(v.validate(cs('token')))).toEqual([
      "CapabilityStatement.rest[0].resource[0].searchParam[0].type | searchParam 'parent' has type 'token', but its SearchParameter has type 'string'",
    ]);
  });
});

describe('a complex extension shipped without a snapshot', () => {
  const url = 'http://example.org/fhir/StructureDefinition/complex';
  const ext = {
    resourceType: 'StructureDefinition',
    id: 'complex',
    url,
    name: 'Complex',
    status: 'active',
    kind: 'complex-type',
    abstract: false,
    context: [{ type: 'element', expression: 'Patient' }],
    type: 'Extension',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Extension',
    derivation: 'constraint',
    differential: {
      element: [
        { id: 'Extension', path: 'Extension' },
        {
          id: 'Extension.extension',
          path: 'Extension.extension',
          slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'closed' },
        },
        { id: 'Extension.extension:name', path: 'Extension.extension', sliceName: 'name', min: 1, max: '1' },
        { id: 'Extension.extension:name.url', path: 'Extension.extension.url', fixedUri: 'name' },
        {
          id: 'Extension.extension:name.value[x]',
          path: 'Extension.extension.value[x]',
          type: [{ code: 'string' }],
        },
        { id: 'Extension.url', path: 'Extension.url', fixedUri: url },
        { id: 'Extension.value[x]', path: 'Extension.value[x]', max: '0' },
      ],
    },
  };
  it('gets a generated snapshot: its sub-extensions are checked, not reported as unknown', async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    const v = await createValidator({ fiBase: false, resources: [ext as never] });
    const ok = patient({ extension: [{ url, extension: [{ url: 'name', valueString: 'x' }] }] });
    expect(v.validate(ok).issue?.map((i) => i.diagnostics)).toEqual(['All OK']);
    const wrong = patient({ extension: [{ url, extension: [{ url: 'name', valueInteger: 1 }] }] });
    expect(errors(v.validate(wrong)).join('\n')).toMatch(
      /Patient\.extension\[0\]\.extension\[0\]\.valueInteger \| .*type 'integer' is not allowed/,
    );
    const missing = patient({ extension: [{ url, valueString: 'x' }] });
    expect(errors(v.validate(missing)).join('\n')).toMatch(/Extension\.extension:name: minimum required = 1/);
  });
});

describe('wrongDisplay option', () => {
  const resource = patient({
    maritalStatus: {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M', display: 'Single' },
      ],
    },
  });
  it("a display the CodeSystem does not have is a warning by default, an error with 'error'", async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    expect(errors((await validator()).validate(resource))).toEqual([]);
    const strict = await createValidator({ fiBase: false, wrongDisplay: 'error' });
    expect(errors(strict.validate(resource)).join('\n')).toMatch(
      /^Patient\.maritalStatus(\.coding\[0\])? \| .*Wrong display 'Single' for 'http:\/\/terminology\.hl7\.org\/CodeSystem\/v3-MaritalStatus#M'/,
    );
  });
});

describe('Quantity minValue/maxValue in a profile', () => {
  const url = 'http://example.org/fhir/StructureDefinition/weight-limit';
  const profile = {
    resourceType: 'StructureDefinition',
    url,
    name: 'WeightLimit',
    status: 'draft',
    kind: 'resource',
    abstract: false,
    type: 'Observation',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Observation',
    derivation: 'constraint',
    differential: {
      element: [
        {
          id: 'Observation.value[x]',
          path: 'Observation.value[x]',
          type: [{ code: 'Quantity' }],
          maxValueQuantity: { value: 200, system: 'http://unitsofmeasure.org', code: 'kg' },
        },
      ],
    },
  };
  const obs = (grams: number) => ({
    resourceType: 'Observation',
    id: 'o1',
    meta: { profile: [url] },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
    status: 'final',
    code: { text: 'weight' },
    valueQuantity: { value: grams, unit: 'g', system: 'http://unitsofmeasure.org', code: 'g' },
  });
  it('compares after UCUM conversion', async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    const v = await createValidator({ fiBase: false, resources: [profile as never] });
    expect(errors(v.validate(obs(150000)))).toEqual([]);
    expect(errors(v.validate(obs(250000)))).toEqual([
      `Observation.value.ofType(Quantity) | Observation.value[x]: the value 250000 g is greater than the permitted maximum value of 200 kg (from ${url})`,
    ]);
    // Without values in messages the limit (the profile's) stays, the measured value goes.
    expect(errors(v.validate(obs(250000), { valuesInMessages: false }))).toEqual([
      `Observation.value.ofType(Quantity) | Observation.value[x]: the value is greater than the permitted maximum value of 200 kg (from ${url})`,
    ]);
  });
});

describe('an unresolvable type.profile', () => {
  const profileWith = (url: string, typeProfile: string) => ({
    resourceType: 'StructureDefinition',
    url,
    name: 'AddressProfiled',
    status: 'draft',
    kind: 'resource',
    abstract: false,
    type: 'Patient',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
    derivation: 'constraint',
    differential: {
      element: [
        {
          id: 'Patient.address',
          path: 'Patient.address',
          type: [{ code: 'Address', profile: [typeProfile] }],
        },
      ],
    },
  });
  const MISSING_CORE = 'http://hl7.org/fhir/StructureDefinition/no-such-address';
  const ELSEWHERE = 'https://unknown.invalid/fhir/StructureDefinition/address';
  it('is an error under a loaded package canonical, a warning when its package is not loaded', async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    const a = 'http://example.org/fhir/StructureDefinition/a';
    const b = 'http://example.org/fhir/StructureDefinition/b';
    const v = await createValidator({
      fiBase: false,
      resources: [profileWith(a, MISSING_CORE), profileWith(b, ELSEWHERE)] as never[],
    });
    const p = (url: string) => patient({ meta: { profile: [url] }, address: [{ city: 'Oulu' }] });
    expect(errors(v.validate(p(a)))).toEqual([
      `Patient.address[0] | Patient.address: profile '${MISSING_CORE}' could not be found, so it has not been checked (from ${a})`,
    ]);
    expect(errors(v.validate(p(b)))).toEqual([]);
    expect(warnings(v.validate(p(b)))).toContain(
      `Patient.address[0] | Patient.address: profile '${ELSEWHERE}' could not be found, so it has not been checked (from ${b})`,
    );
  });
});

describe('ImplementationGuide global profiles', () => {
  it('apply to every resource of their type, claimed or not', async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    const strict = 'http://example.org/fhir/StructureDefinition/gendered-patient';
    const profile = {
      resourceType: 'StructureDefinition',
      url: strict,
      name: 'GenderedPatient',
      status: 'draft',
      kind: 'resource',
      abstract: false,
      type: 'Patient',
      baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
      derivation: 'constraint',
      differential: { element: [{ id: 'Patient.gender', path: 'Patient.gender', min: 1 }] },
    };
    const ig = {
      resourceType: 'ImplementationGuide',
      url: 'http://example.org/fhir/ImplementationGuide/ig',
      name: 'Ig',
      status: 'draft',
      packageId: 'example.ig',
      fhirVersion: ['4.0.1'],
      global: [{ type: 'Patient', profile: strict }],
    };
    const v = await createValidator({ fiBase: false, resources: [profile, ig] as never[] });
    expect(errors(v.validate(patient()))).toEqual([
      `Patient | Patient.gender: minimum required = 1, but only found 0 (from ${strict})`,
    ]);
    expect(errors(v.validate(patient({ gender: 'female' })))).toEqual([]);
  });
});

describe('allowExamples option', () => {
  const url = 'http://repository.example.org/fhir/DocumentReference/example';
  const docRef = {
    resourceType: 'DocumentReference',
    id: 'd1',
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Test</div>' },
    status: 'current',
    content: [{ attachment: { contentType: 'text/plain', url } }],
  };
  const exampleExt = patient({ extension: [{ url: 'http://example.org/fhir/ext', valueString: 'a' }] });
  it('true (default): example URLs are accepted and an unknown example-domain extension only warns', async () => {
    const v = await validator();
    expect(errors(v.validate(docRef))).toEqual([]);
    expect(errors(v.validate(exampleExt))).toEqual([]);
  });
  it('false: an example URL in a url value and an unknown example-domain extension are errors', async () => {
    const { createValidator } = await import('../../../src/validation/index.ts');
    const v = await createValidator({ fiBase: false, allowExamples: false });
    expect(errors(v.validate(docRef))).toEqual([
      `DocumentReference.content[0].attachment.url | Example URLs are not allowed in this context (${url})`,
    ]);
    expect(errors(v.validate(exampleExt))).toEqual([
      "Patient.extension[0] | Unknown extension 'http://example.org/fhir/ext'",
      'Patient.extension[0].url | Example URLs are not allowed in this context (http://example.org/fhir/ext)',
    ]);
    const elsewhere = {
      ...docRef,
      content: [{ attachment: { contentType: 'text/plain', url: 'https://x.fi/d' } }],
    };
    expect(errors(v.validate(elsewhere))).toEqual([]);
  });
});

describe('example domains are example.org and acme.com only', () => {
  it('an unknown extension on example.com is an error, one on acme.com only a warning', async () => {
    const v = await validator();
    const on = (url: string) => patient({ extension: [{ url, valueBoolean: false }] });
    expect(errors(v.validate(on('https://example.com/StructureDefinition/is-extemp')))).toEqual([
      "Patient.extension[0] | Unknown extension 'https://example.com/StructureDefinition/is-extemp'",
    ]);
    expect(errors(v.validate(on('http://acme.com/fhir/StructureDefinition/x')))).toEqual([]);
  });
});

describe('Coding.system copied from a web page', () => {
  const coded = (system: string) => patient({ maritalStatus: { coding: [{ system, code: 'M' }] } });
  it('a build.fhir.org address and an HTML page of the specification are errors suggesting the canonical', async () => {
    const v = await validator();
    const build = 'http://build.fhir.org/v3-MaritalStatus';
    expect(errors(v.validate(coded(build)))).toContain(
      `Patient.maritalStatus.coding[0] | The code system reference '${build}' is wrong - the code system reference cannot be a reference to build.fhir.org. This may be the correct reference: http://hl7.org/fhir/v3-MaritalStatus`,
    );
    const page = 'http://hl7.org/fhir/R4/codesystem-marital-status.html';
    expect(errors(v.validate(coded(page)))).toContain(
      `Patient.maritalStatus.coding[0] | The code system reference '${page}' is wrong - the code system reference cannot be to an HTML page. This may be the correct reference: http://hl7.org/fhir/marital-status`,
    );
  });
  it('a canonical under hl7.org/fhir is not one', async () => {
    const v = await validator();
    const canonical = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';
    expect(errors(v.validate(coded(canonical)))).toEqual([]);
    expect(
      errors(v.validate(patient({ identifier: [{ system: 'http://hl7.org/fhir/sid/us-ssn', value: '1' }] }))),
    ).toEqual([]);
  });
});

describe('conditional references', () => {
  const transaction = (reference: string) => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: 'urn:uuid:4a3f1a52-1d2e-4c7b-9a35-0d2b9d3c6a11',
        resource: patient({ id: undefined, generalPractitioner: [{ reference }] }),
        request: { method: 'POST', url: 'Patient' },
      },
    ],
  });
  const at = 'Bundle.entry[0].resource.generalPractitioner[0].reference';
  it('a search parameter name that is not one, or a part without "=", is an error naming its position only', async () => {
    const v = await validator();
    expect(errors(v.validate(transaction('Practitioner?identifier=1234&?==')))).toEqual([
      `${at} | Conditional reference 'Practitioner?…': search parameter 2 is not a valid search parameter name`,
    ]);
    expect(errors(v.validate(transaction('Practitioner?identifier=urn:oid:1.2.246.21|x&name')))).toEqual([
      `${at} | Conditional reference 'Practitioner?…': search parameter 2 has no '=' and value`,
    ]);
  });
  it('name=value pairs (empty values, modifiers, chains) are well formed, and quiet in a transaction', async () => {
    const v = await validator();
    for (const ok of [
      'Practitioner?identifier=1234&what=',
      'Practitioner?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|NPI|1',
      'Practitioner?_has:PractitionerRole:practitioner:organization.name=Kela',
    ]) {
      const oo = v.validate(transaction(ok));
      expect(errors(oo)).toEqual([]);
      expect(warnings(oo).filter((w) => w.startsWith(at))).toEqual([]);
    }
  });
  it('outside a transaction or batch it warns, naming the type only (the search may hold a HETU)', async () => {
    const v = await validator();
    const oo = v.validate(
      patient({
        generalPractitioner: [{ reference: 'Practitioner?identifier=urn:oid:1.2.246.21|010181-941F' }],
      }),
    );
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toContain(
      "Patient.generalPractitioner[0].reference | Conditional reference 'Practitioner?…' is resolved only in a transaction or batch",
    );
    expect(JSON.stringify(oo)).not.toContain('010181-941F');
  });
});

describe('internal narrative links written with character references', () => {
  const narrative = (div: string) =>
    patient({ text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${div}</div>` } });

  it('a link and an anchor are compared as the characters they name', async () => {
    const v = await validator();
    const oo = v.validate(narrative('<a name="n&#x41;">x</a><a href="#n&#65;">to x</a>'));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo).filter((w) => w.includes('internal link'))).toEqual([]);
  });

  it('a reference beyond Unicode does not stop the validation: the narrative is refused (txt-1)', async () => {
    const v = await validator();
    const oo = v.validate(narrative('<a name="&#1114112;">x</a><a href="#&#x110000;">to x</a>'));
    expect(oo.issue.filter((i) => i.severity === 'fatal')).toEqual([]);
    expect(errors(oo)).toEqual([expect.stringMatching(/^Patient\.text\.div \| txt-1: /)]);
  });
});
