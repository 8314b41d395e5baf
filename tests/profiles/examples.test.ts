import { beforeAll, describe, expect, it } from 'vitest';
import type { Expected } from '../../examples/negative/generate.ts';
import { type Validator, createValidator, loadProjectValidator } from '../../src/validation/index.ts';
import { CANONICAL, type Json, PACKAGE, examples, negativeCases, profiles } from './fixtures.ts';

let validator: Validator;
beforeAll(async () => {
  validator = await loadProjectValidator();
});

const errorsOf = (oo: Json) =>
  (oo.issue ?? []).filter((i: Json) => i.severity === 'error' || i.severity === 'fatal');
const all = examples();
const ours = (p: string) => p.startsWith(`${CANONICAL}/StructureDefinition/`);

describe('the package in the project validator', () => {
  it('resolves every profile, extension, CodeSystem and ValueSet by canonical URL', () => {
    for (const sd of profiles()) expect(validator.registry.structureDefinition(sd.url)?.url).toBe(sd.url);
    expect(
      validator.registry.structureDefinition(
        'http://phr.kanta.fi/StructureDefinition/fiphr-ext-creatingapplication',
      ),
    ).toBeDefined();
    for (const id of ['consent-withdrawal-date', 'consent-receiving-party', 'follow-up-date']) {
      expect(validator.registry.structureDefinition(`${CANONICAL}/StructureDefinition/${id}`)).toBeDefined();
    }
    expect(validator.registry.codeSystem(`${CANONICAL}/CodeSystem/care-team-role`)).toBeDefined();
    expect(validator.registry.valueSet(`${CANONICAL}/ValueSet/responsible-worker-kind`)).toBeDefined();
    expect(validator.packages.map((p) => p.name)).toContain('tyokyky.fhir.workability');
  });
});

describe('the package without FI Base', () => {
  it('still validates every package example with 0 errors (snapshots are self-contained)', async () => {
    const alone = await createValidator({ packages: [PACKAGE], fiBase: false });
    expect(alone.packages.map((p) => p.name)).not.toContain('hl7.fhir.fi.base');
    for (const e of all.filter((x) => x.name.startsWith('profiles/package/example/'))) {
      expect(errorsOf(alone.validate(e.resource)), e.name).toEqual([]);
    }
  });
});

/** Examples and negative cases on disk: a missing or misnamed fixture fails instead of passing silently. */
const EXAMPLES = 80;
const NEGATIVE_CASES = 83;

describe('examples', () => {
  it(`are ${EXAMPLES} (package examples, per-profile min/max examples, personas)`, () => {
    expect(all).toHaveLength(EXAMPLES);
  });

  it('declare one of our profiles in meta.profile', () => {
    for (const e of all) expect(e.resource.meta?.profile?.some(ours), e.name).toBe(true);
  });

  it.each(all.map((e) => [e.name, e.resource] as const))('%s validates with 0 errors', (_name, resource) => {
    const errors = errorsOf(validator.validate(resource));
    expect(errors).toEqual([]);
  });

  it('reach every profile with at least a minimal and a maximal example', () => {
    for (const sd of profiles()) {
      const n = all.filter((e) => e.resource.meta?.profile?.includes(sd.url)).length;
      expect(n, sd.id).toBeGreaterThanOrEqual(2);
    }
  });

  it('use test HETUs of the 900 series only', () => {
    const hetus = all.flatMap((e) =>
      ([] as Json[])
        .concat(e.resource.identifier ?? [])
        .filter((i: Json) => i.system === 'urn:oid:1.2.246.21')
        .map((i: Json) => i.value as string),
    );
    expect(hetus.length).toBeGreaterThan(0);
    for (const h of hetus) expect(h.slice(7, 10) >= '900', h).toBe(true);
  });
});

describe('negative examples', () => {
  const cases = negativeCases();

  it(`are ${NEGATIVE_CASES}`, () => {
    expect(cases).toHaveLength(NEGATIVE_CASES);
  });

  it('cover every profile with at least 4 cases', () => {
    for (const sd of profiles())
      expect(cases.filter((c) => c.profile === sd.id).length, sd.id).toBeGreaterThanOrEqual(4);
  });

  /** Whether `issue` is the error `e` describes: severity, expression, and invariant key or text. */
  const matches = (issue: Json, e: Expected) =>
    issue.severity === e.severity &&
    (issue.expression ?? []).includes(e.expression) &&
    (e.key
      ? String(issue.diagnostics).startsWith(`${e.key}:`)
      : String(issue.diagnostics).includes(e.message!));

  it.each(cases.map((c) => [`${c.profile}/${c.name}`, c] as const))(
    '%s is rejected with its expected issue, and no error but those its case lists as also reported',
    (_n, c) => {
      expect(c.resource.meta.profile).toContain(`${CANONICAL}/StructureDefinition/${c.profile}`);
      const errors = errorsOf(validator.validate(c.resource));
      const left = [...errors];
      const also = (c.alsoReported ?? []) as Expected[];
      for (const wanted of [c.expected as Expected, ...also]) {
        const at = left.findIndex((i: Json) => matches(i, wanted));
        expect(
          at,
          `expected ${JSON.stringify(wanted)}; got ${JSON.stringify(errors, null, 1)}`,
        ).toBeGreaterThanOrEqual(0);
        left.splice(at, 1);
      }
      // An error neither expected nor listed (examples/negative/generate.ts, `also`) fails the case.
      expect(left, 'errors the case does not list').toEqual([]);
    },
  );
});

describe('a finding reported once', () => {
  it('an unknown code in a slice-bound concept is reported at the concept, not again at its coding', () => {
    const c = negativeCases().find((x) => x.name === 'unknown-trigger');
    expect(c, 'examples/negative/tyokyky-work-ability-assessment/unknown-trigger.json').toBeDefined();
    const unknown = errorsOf(validator.validate(c!.resource)).filter((i: Json) =>
      String(i.diagnostics).includes("Unknown code 'bad-luck'"),
    );
    expect(unknown.map((i: Json) => i.expression?.[0])).toEqual([
      'Observation.component[3].value.ofType(CodeableConcept)',
    ]);
  });
});

describe('our Questionnaires, conformance resources of the package', () => {
  it('resolve by canonical, and every QuestionnaireResponse example and persona entry answers its Questionnaire with 0 errors', () => {
    expect(validator.registry.resolve(`${CANONICAL}/Questionnaire/kykyviisari`)?.resourceType).toBe(
      'Questionnaire',
    );
    const responses = all.filter((e) => e.resource.resourceType === 'QuestionnaireResponse');
    expect(responses.length).toBeGreaterThanOrEqual(4); // two package examples, Suvi's and Sirpa's
    for (const e of responses) {
      const issues = validator.validate(e.resource).issue ?? [];
      expect(errorsOf({ issue: issues }), e.name).toEqual([]);
      expect(issues.map((i: Json) => i.diagnostics).join('\n'), e.name).not.toContain(
        'could not be resolved',
      );
    }
    const unanswered = { ...responses[0].resource, item: [] };
    expect(
      errorsOf(validator.validate(unanswered)).map((i: Json) => i.diagnostics ?? i.details?.text),
    ).toContain("No response found for required item with id = 'overall'");
  });
});
