// A self-assessment's business identifier is its id, a UUID (tyk-sar-1): a QuestionnaireResponse whose
// only identifier is a urn:oid: (which tyk-id-1 allows on other resources) is refused up front by the
// profile, naming the element and the rule, rather than read to a vague "no local id" refusal; what
// toFhir writes always keeps the rule, and reads back unchanged.
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { fromFhir, toFhir } from '../../src/mapping/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { entryOf, refusal } from './reader-helpers.ts';

const OID = 'urn:oid:1.2.246.10.12345678.10.1';

function withOid() {
  const bundle = toFhir(suvi);
  const { resource, path } = entryOf<QuestionnaireResponse>(bundle, 'tyokyky-self-assessment-response');
  resource.identifier = { system: 'urn:ietf:rfc:3986', value: OID };
  return { bundle, resource, path };
}

describe('tyk-sar-1: a self-assessment is identified by urn:uuid:', () => {
  it('the validator refuses a urn:oid: identifier on a QuestionnaireResponse, naming tyk-sar-1', async () => {
    const validator = await loadProjectValidator();
    const { resource } = withOid();
    const errors = validator.validate(resource).issue!.filter((i) => i.severity === 'error');
    expect(errors.map((i) => i.diagnostics).join('\n')).toContain('tyk-sar-1');
    expect(JSON.stringify(errors)).not.toContain('12345678');
  });

  it('fromFhir refuses it naming the rule at QuestionnaireResponse.identifier, also unvalidated', async () => {
    const { bundle, path } = withOid();
    expect(refusal(() => fromFhir(bundle)).diagnostics).toContain('tyk-sar-1');
    const r = refusal(() => fromFhir(bundle, { validate: false }));
    expect(r.expression).toBe(`${path}.identifier`);
    expect(r.diagnostics).toContain('tyk-sar-1');
  });

  it('toFhir writes a urn:uuid: identifier that keeps the rule and reads back unchanged', async () => {
    const validator = await loadProjectValidator();
    const bundle = toFhir(suvi);
    const { resource } = entryOf<QuestionnaireResponse>(bundle, 'tyokyky-self-assessment-response');
    expect(resource.identifier!.value).toBe(`urn:uuid:${suvi.selfAssessments![0]!.id}`);
    const errors = validator.validate(resource).issue!.filter((i) => i.severity === 'error');
    expect(errors).toEqual([]);
    expect(toFhir(fromFhir(bundle))).toEqual(bundle);
  });
});
