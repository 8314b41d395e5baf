import { beforeAll, describe, expect, it } from 'vitest';
import { type Validator, createValidator } from '../../../src/validation/index.ts';
import { errors, patient, warnings } from './helpers.ts';
import { ProfileBuilder } from './profiles.ts';

const idPatient = new ProfileBuilder('Patient', 'identified-patient').set('Patient.identifier', { min: 1 });
const subjectObs = new ProfileBuilder('Observation', 'subject-obs').set('Observation.subject', {
  min: 1,
  type: [{ code: 'Reference', targetProfile: [idPatient.url] }],
});

const diffOnly = { ...new ProfileBuilder('Patient', 'differential-only').build(), snapshot: undefined };

let v: Validator;
beforeAll(async () => {
  v = await createValidator({ fiBase: false, resources: [idPatient.build(), subjectObs.build(), diffOnly] });
});

const div = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
const obs = (extra: Record<string, unknown>) => ({
  resourceType: 'Observation',
  text: div,
  status: 'final',
  code: { text: 'x' },
  ...extra,
});

describe('references', () => {
  it('accepts relative, absolute, urn and contained references', () => {
    for (const reference of [
      'Patient/1',
      'Patient/1/_history/2',
      'http://example.org/fhir/Patient/1',
      'urn:uuid:c757873d-ec9a-4326-a141-556f43239520',
    ]) {
      expect(errors(v.validate(obs({ subject: { reference } })))).toEqual([]);
    }
    const withContained = obs({
      contained: [{ resourceType: 'Patient', id: 'p' }],
      subject: { reference: '#p' },
    });
    expect(errors(v.validate(withContained))).toEqual([]);
  });

  it('rejects a reference with whitespace', () => {
    expect(errors(v.validate(obs({ subject: { reference: 'Patient/ 1' } })))).toEqual([
      "Observation.subject.reference | Reference 'Patient/ 1' is not valid: it contains whitespace",
    ]);
  });

  it('rejects a relative reference to an unknown resource type', () => {
    expect(errors(v.validate(obs({ subject: { reference: 'Pateint/1' } })))).toEqual([
      "Observation.subject.reference | Reference 'Pateint/1': 'Pateint' is not a resource type",
    ]);
  });

  it('rejects a bare id as a reference, as the HL7 validator does', () => {
    expect(errors(v.validate(obs({ subject: { reference: 'just-an-id' } })))).toEqual([
      "Observation.subject.reference | Relative URLs must be of the format [ResourceName]/[id] (found 'just-an-id')",
    ]);
  });

  it('accepts a conditional reference (Type?search) without a slash', () => {
    const oo = v.validate(obs({ subject: { reference: 'Patient?identifier=urn:ietf:rfc:3986|urn:uuid:1' } }));
    expect(errors(oo)).toEqual([]);
  });

  it('warns about a reference with a path that is neither relative nor absolute', () => {
    const oo = v.validate(obs({ subject: { reference: 'Patient/1/extra' } }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toEqual([
      "Observation.subject.reference | Reference 'Patient/1/extra' is neither a relative reference ([type]/[id]) nor an absolute URL",
    ]);
  });

  it('requires a contained resource for a local reference (ref-1)', () => {
    expect(errors(v.validate(obs({ subject: { reference: '#nope' } })))).toEqual([
      "Observation.subject.reference | ref-1: SHALL have a contained resource if a local reference is provided (no contained resource has id 'nope')",
    ]);
  });

  it('the type implied by a reference that does not resolve here only warns (HL7: remote references are not judged by default)', () => {
    const oo = v.validate(obs({ subject: { reference: 'Medication/1' } }));
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toContain(
      "Observation.subject.reference | Observation.subject: the type 'Medication' of the reference 'Medication/1' is not a valid target (must be one of Patient, Group, Device, Location)",
    );
  });

  it("referenceTypes: 'error' makes that type an error (the facade's write path)", () => {
    expect(
      errors(v.validate(obs({ subject: { reference: 'Medication/1' } }), { referenceTypes: 'error' })),
    ).toEqual([
      "Observation.subject.reference | Observation.subject: the type 'Medication' of the reference 'Medication/1' is not a valid target (must be one of Patient, Group, Device, Location)",
    ]);
  });

  it('a resolved target of the wrong type is an error (in a Bundle as in contained)', () => {
    const b = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'http://example.org/fhir/Medication/1',
          resource: { resourceType: 'Medication', id: '1' },
        },
        {
          fullUrl: 'http://example.org/fhir/Observation/2',
          resource: obs({ id: '2', subject: { reference: 'Medication/1' } }),
        },
      ],
    };
    expect(errors(v.validate(b))).toEqual([
      "Bundle.entry[1].resource.subject.reference | Observation.subject: the type 'Medication' of the reference 'Medication/1' is not a valid target (must be one of Patient, Group, Device, Location)",
    ]);
  });

  it('checks the type of a contained target', () => {
    const o = obs({ contained: [{ resourceType: 'Medication', id: 'm' }], subject: { reference: '#m' } });
    expect(errors(v.validate(o))).toEqual([
      "Observation.subject.reference | Observation.subject: the type 'Medication' of the reference '#m' is not a valid target (must be one of Patient, Group, Device, Location)",
    ]);
  });
});

describe('Bundles', () => {
  const entry = (
    fullUrl: string,
    resource: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) => ({ fullUrl, resource, ...extra });
  const pUrl = 'urn:uuid:6f1e3a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5b';
  const { id: _id, ...p } = patient({ identifier: [{ value: '1' }] });

  it('accepts a collection whose references resolve', () => {
    const b = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        entry(pUrl, p),
        entry('urn:uuid:0a6a3c8e-0000-4000-8000-000000000001', obs({ subject: { reference: pUrl } })),
      ],
    };
    expect(errors(v.validate(b))).toEqual([]);
  });

  it('validates entries as resources with indexed paths', () => {
    const b = { resourceType: 'Bundle', type: 'collection', entry: [entry(pUrl, { ...p, foo: 1 })] };
    expect(errors(v.validate(b))).toEqual(["Bundle.entry[0].resource.foo | Unrecognized property 'foo'"]);
  });

  it('warns on a relative fullUrl (the HL7 validator accepts it: no error)', () => {
    const b = { resourceType: 'Bundle', type: 'collection', entry: [entry('Patient/1', p)] };
    const oo = v.validate(b);
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toContain(
      "Bundle.entry[0].fullUrl | Bundle.entry.fullUrl must be an absolute URL (found 'Patient/1')",
    );
  });

  it('requires unique fullUrls (bdl-7), reported on the Bundle (where R4 puts the constraint)', () => {
    const b = { resourceType: 'Bundle', type: 'collection', entry: [entry(pUrl, p), entry(pUrl, p)] };
    expect(errors(v.validate(b))).toEqual([
      `Bundle | bdl-7: FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different meta.versionId (duplicate '${pUrl}' at entry 1)`,
    ]);
  });

  it('bdl-7 takes an absent versionId as empty, in either order (as `fullUrl & versionId` does)', () => {
    const v1 = { ...p, meta: { versionId: '1' } };
    const v2 = { ...p, meta: { versionId: '2' } };
    const bundle = (...entries: unknown[]) => ({
      resourceType: 'Bundle',
      type: 'collection',
      entry: entries,
    });
    expect(errors(v.validate(bundle(entry(pUrl, v1), entry(pUrl, p))))).toEqual([]);
    expect(errors(v.validate(bundle(entry(pUrl, p), entry(pUrl, v1))))).toEqual([]);
    expect(errors(v.validate(bundle(entry(pUrl, v1), entry(pUrl, v2))))).toEqual([]);
    expect(errors(v.validate(bundle(entry(pUrl, v1), entry(pUrl, p), entry(pUrl, v1))))).toEqual([
      `Bundle | bdl-7: FullUrl must be unique in a bundle, or else entries with the same fullUrl must have different meta.versionId (duplicate '${pUrl}' at entry 2)`,
    ]);
  });

  it('requires request on transaction entries (bdl-3), reported on the Bundle', () => {
    const b = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [entry(pUrl, p), entry(pUrl.replace('6f', '7f'), p)],
    };
    expect(errors(v.validate(b))).toEqual([
      'Bundle | bdl-3: entry.request mandatory for batch/transaction/history (entry 0 has none)',
      'Bundle | bdl-3: entry.request mandatory for batch/transaction/history (entry 1 has none)',
    ]);
    const c = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [entry(pUrl, p, { request: { method: 'POST', url: 'Patient' } })],
    };
    expect(errors(v.validate(c))).toEqual([
      'Bundle | bdl-3: entry.request is not allowed in a collection Bundle (entry 0 has one)',
    ]);
  });

  it('rejects urn references that do not resolve inside a transaction', () => {
    const missing = 'urn:uuid:00000000-0000-4000-8000-00000000dead';
    const b = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        entry(pUrl, obs({ subject: { reference: missing } }), {
          request: { method: 'POST', url: 'Observation' },
        }),
      ],
    };
    expect(errors(v.validate(b))).toEqual([
      `Bundle.entry[0].resource.subject.reference | Unable to resolve the reference '${missing}' within the transaction Bundle`,
    ]);
  });

  it('requires relative references in a document to resolve to an entry', () => {
    const composition = {
      resourceType: 'Composition',
      text: div,
      status: 'final',
      type: { text: 'note' },
      date: '2024-01-01',
      author: [{ reference: 'Practitioner/1' }],
      title: 'Note',
      subject: { reference: 'Patient/p1' },
    };
    const b = {
      resourceType: 'Bundle',
      identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:2f0b0e1e-0000-4000-8000-000000000001' },
      type: 'document',
      timestamp: '2024-01-01T10:00:00Z',
      entry: [
        entry('http://example.org/fhir/Composition/c1', { ...composition, id: 'c1' }),
        entry('http://example.org/fhir/Patient/p1', { ...p, id: 'p1' }),
      ],
    };
    expect(errors(v.validate(b))).toEqual([
      "Bundle.entry[0].resource.author[0].reference | Can't find 'Practitioner/1' in the document Bundle",
    ]);
  });

  it('checks the target type and profile of references resolved in the Bundle', () => {
    const o = obs({ meta: { profile: [subjectObs.url] }, subject: { reference: pUrl } });
    const ok = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [entry(pUrl, p), entry('urn:uuid:0a6a3c8e-0000-4000-8000-000000000002', o)],
    };
    expect(errors(v.validate(ok))).toEqual([]);
    const { identifier: _i, ...anonymous } = p;
    const bad = { ...ok, entry: [entry(pUrl, anonymous), ok.entry[1]] };
    expect(errors(v.validate(bad))).toEqual([
      `Bundle.entry[1].resource.subject.reference | Observation.subject: the resource referenced by '${pUrl}' does not conform to ${idPatient.url} (from ${subjectObs.url})`,
    ]);
    const wrongType = { ...ok, entry: [entry(pUrl, { resourceType: 'Device', text: div }), ok.entry[1]] };
    expect(errors(v.validate(wrongType))).toEqual([
      `Bundle.entry[1].resource.subject.reference | Observation.subject: the type 'Device' of the reference '${pUrl}' is not a valid target (must be one of Patient) (from ${subjectObs.url})`,
    ]);
  });

  it('applies the meta.profile of an entry', () => {
    const { identifier: _i, ...anonymous } = p;
    const b = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [entry(pUrl, { ...anonymous, meta: { profile: [idPatient.url] } })],
    };
    expect(errors(v.validate(b))).toEqual([
      `Bundle.entry[0].resource | Patient.identifier: minimum required = 1, but only found 0 (from ${idPatient.url})`,
    ]);
  });
});

describe('profiles', () => {
  it('applies an explicit profile option', () => {
    expect(errors(v.validate(patient(), { profile: idPatient.url }))).toEqual([
      `Patient | Patient.identifier: minimum required = 1, but only found 0 (from ${idPatient.url})`,
    ]);
  });

  it('warns about a meta.profile it cannot resolve and still validates the base resource', () => {
    const oo = v.validate(patient({ meta: { profile: ['http://example.org/nope'] }, foo: 1 }));
    expect(warnings(oo)).toEqual([
      "Patient.meta.profile[0] | Profile reference 'http://example.org/nope' has not been checked because it could not be found",
    ]);
    expect(errors(oo)).toEqual(["Patient.foo | Unrecognized property 'foo'"]);
  });

  it('rejects an explicit profile it cannot resolve', () => {
    expect(errors(v.validate(patient(), { profile: 'http://example.org/nope' }))).toEqual([
      "Patient | Profile reference 'http://example.org/nope' has not been checked because it could not be found",
    ]);
  });

  it('warns, and does not reject, when a profile has no snapshot', () => {
    const oo = v.validate(patient(), { profile: diffOnly.url });
    expect(errors(oo)).toEqual([]);
    expect(warnings(oo)).toEqual([
      `Patient | Profile '${diffOnly.url}' has no snapshot, so it has not been checked`,
    ]);
  });

  it('rejects a profile for another resource type', () => {
    expect(errors(v.validate(patient({ meta: { profile: [subjectObs.url] } })))).toEqual([
      `Patient | Profile '${subjectObs.url}' is for type 'Observation' and cannot apply to a Patient`,
    ]);
  });

  it('names the type with its article: an Observation', () => {
    expect(errors(v.validate(obs({ meta: { profile: [idPatient.url] } })))).toContain(
      `Observation | Profile '${idPatient.url}' is for type 'Patient' and cannot apply to an Observation`,
    );
  });
});
