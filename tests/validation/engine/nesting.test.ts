import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_NESTING } from '../../../src/validation/checks/nesting.ts';
import type { Validator } from '../../../src/validation/index.ts';
import { patient, validator } from './helpers.ts';

let v: Validator;
beforeAll(async () => {
  v = await validator();
});

const div = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
/** A Questionnaire whose items nest `levels` deep (each level: the `item` array and an item object). */
function questionnaire(levels: number): Record<string, unknown> {
  let item: Record<string, unknown> | undefined;
  for (let i = levels - 1; i >= 0; i--) {
    item = { linkId: `l${i}`, text: 'x', type: item ? 'group' : 'string', ...(item ? { item: [item] } : {}) };
  }
  return { resourceType: 'Questionnaire', id: 'q', text: div, status: 'draft', item: [item] };
}
function extensions(levels: number): Record<string, unknown> {
  let ext: Record<string, unknown> = { url: 'http://example.org/x0', valueString: 'x' };
  for (let i = 1; i < levels; i++) ext = { url: `http://example.org/x${i}`, extension: [ext] };
  return patient({ extension: [ext] });
}
function arrays(levels: number): unknown {
  let a: unknown = [];
  for (let i = 1; i < levels; i++) a = [a];
  return a;
}
/** `seg[0]` repeated: the path of nested objects in arrays of `seg`. */
const repeat = (seg: string, n: number) => Array.from({ length: n }, () => seg).join('.');
const deepIssue = (expression: string) => ({
  severity: 'error',
  code: 'structure',
  diagnostics: `val-depth-1: the content nests deeper than ${MAX_NESTING} levels (JSON objects and arrays, XML elements); it is not validated further`,
  expression: [expression],
  location: [expression],
});
/** The same Questionnaire as FHIR XML. */
function questionnaireXml(levels: number): string {
  const open = Array.from({ length: levels }, (_, i) => `<item><linkId value="l${i}"/><type value="group"/>`);
  return `<Questionnaire xmlns="http://hl7.org/fhir"><id value="q"/><status value="draft"/>${open.join('')}${'</item>'.repeat(levels)}</Questionnaire>`;
}

describe(`nesting deeper than ${MAX_NESTING} levels`, () => {
  // Levels: the resource is 1; in a Questionnaire, item arrays are even levels and item objects odd
  // ones, so (MAX_NESTING being even) the first container past the limit is an item object.
  const past = MAX_NESTING + 1;
  const itemsPast = `Questionnaire.${repeat('item[0]', (past - 1) / 2)}`;

  it('1000 nested Questionnaire items: one structural error where the limit is crossed', () => {
    expect(v.validate(questionnaire(1000)).issue).toEqual([deepIssue(itemsPast)]);
  });

  it('3000 nested extensions: the same', () => {
    expect(v.validate(extensions(3000)).issue).toEqual([
      deepIssue(`Patient.${repeat('extension[0]', (past - 1) / 2)}`),
    ]);
  });

  it('a JSON array 20000 deep: the same', () => {
    // Patient 1, x 2, x[0] 3 ...
    expect(v.validate(patient({ x: arrays(20000) })).issue).toEqual([
      deepIssue(`Patient.x${'[0]'.repeat(past - 2)}`),
    ]);
  });

  it('a resource inside a Bundle counts from the Bundle', () => {
    // Bundle 1, entry 2, entry[0] 3, resource 4, its item arrays odd levels from 5.
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: questionnaire(1000) }] };
    expect(v.validate(bundle).issue).toEqual([
      deepIssue(`Bundle.entry[0].resource.${repeat('item[0]', (past - 5) / 2)}.item`),
    ]);
  });

  it(`content up to ${MAX_NESTING} levels is walked as usual; one level more is refused`, () => {
    // n nested items: the deepest item object at level 2n + 1.
    const atLimit = questionnaire(((MAX_NESTING - 1) / 2) | 0);
    const issues = v.validate(atLimit).issue ?? [];
    expect(issues.filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
    expect(issues.map((i) => i.diagnostics).join('\n')).not.toContain('val-depth-1');
    expect(v.validate(questionnaire(MAX_NESTING / 2)).issue).toEqual([deepIssue(itemsPast)]);
  });

  it('FHIR XML: elements nested past the limit, named without indexes', () => {
    // Questionnaire 1, each item one level more: the linkId of the 255th item is the first element
    // past the limit.
    for (const levels of [MAX_NESTING, 2000, 20000]) {
      expect(v.validateXml(questionnaireXml(levels)).issue, String(levels)).toEqual([
        deepIssue(`Questionnaire.${repeat('item', MAX_NESTING - 1)}.linkId`),
      ]);
    }
    // Within the limit as XML, past it as JSON (an item is an array and an object there).
    expect(v.validateXml(questionnaireXml(200)).issue).toEqual([deepIssue(itemsPast)]);
  });
});
