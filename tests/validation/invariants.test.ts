import type { ElementDefinitionConstraint } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  INVARIANTS,
  InvariantEvaluationError,
  compileInvariant,
  runInvariant,
} from '../../src/validation/invariants/index.ts';
import { Registry } from '../../src/validation/registry.ts';
import type { CompiledInvariant } from '../../src/validation/types.ts';

let registry: Registry;
beforeAll(() => {
  registry = new Registry();
  registry.loadCore();
});

/** The R4 core constraint `key` as published on `path` of `type`'s snapshot, compiled. */
function core(type: string, path: string, key: string): CompiledInvariant {
  const sd = registry.structureDefinition(type)!;
  const el = sd.snapshot!.element!.find((e) => e.path === path)!;
  const c = el.constraint!.find((k) => k.key === key)!;
  return compileInvariant(c, path)!;
}

/** Checks `node` (the resource itself when at the root). */
function holds(
  inv: CompiledInvariant,
  node: unknown,
  resource: any,
  typeName: string,
  path: string,
): boolean {
  return inv.check(node, { resource, rootResource: resource, typeName, path });
}
const root = (inv: CompiledInvariant, r: any) => holds(inv, r, r, r.resourceType, r.resourceType);

const div = (inner: string) => `<div xmlns="http://www.w3.org/1999/xhtml">${inner}</div>`;

describe('R4 resource invariants through fhirpath.js', () => {
  it('obs-6: dataAbsentReason only when there is no value', () => {
    const inv = core('Observation', 'Observation', 'obs-6');
    expect(inv).toMatchObject({ key: 'obs-6', severity: 'error' });
    const ok = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      dataAbsentReason: { text: 'lost' },
    };
    expect(root(inv, ok)).toBe(true);
    expect(root(inv, { ...ok, valueString: 'x' })).toBe(false);
  });

  it('obs-7: no value[x] when a component code equals the observation code', () => {
    const inv = core('Observation', 'Observation', 'obs-7');
    const code = { coding: [{ system: 'http://loinc.org', code: '85354-9' }] };
    const o = {
      resourceType: 'Observation',
      status: 'final',
      code,
      valueString: 'x',
      component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] } }],
    };
    expect(root(inv, o)).toBe(true);
    expect(root(inv, { ...o, component: [{ code }] })).toBe(false);
  });

  it('pat-1: a contact has a name, telecom, address or organization', () => {
    const inv = core('Patient', 'Patient.contact', 'pat-1');
    const p: any = {
      resourceType: 'Patient',
      contact: [{ name: { family: 'Virtanen' } }, { gender: 'male' }],
    };
    expect(holds(inv, p.contact[0], p, 'BackboneElement', 'Patient.contact')).toBe(true);
    expect(holds(inv, p.contact[1], p, 'BackboneElement', 'Patient.contact')).toBe(false);
  });

  it('cpl-3: an activity has a detail or a reference, not both', () => {
    const inv = core('CarePlan', 'CarePlan.activity', 'cpl-3');
    const both = { reference: { reference: 'ServiceRequest/1' }, detail: { status: 'scheduled' } };
    const cp: any = {
      resourceType: 'CarePlan',
      activity: [{ reference: { reference: 'ServiceRequest/1' } }, both],
    };
    expect(holds(inv, cp.activity[0], cp, 'BackboneElement', 'CarePlan.activity')).toBe(true);
    expect(holds(inv, cp.activity[1], cp, 'BackboneElement', 'CarePlan.activity')).toBe(false);
  });

  it('ppc-1: a policy or a policyRule', () => {
    const inv = core('Consent', 'Consent', 'ppc-1');
    const c = { resourceType: 'Consent', status: 'active', scope: { text: 's' }, category: [{ text: 'c' }] };
    expect(root(inv, { ...c, policyRule: { text: 'opt-in' } })).toBe(true);
    expect(root(inv, c)).toBe(false);
  });

  it('ppc-2..5 as published (system "something") never fire, exactly like the reference validator', () => {
    const c = {
      resourceType: 'Consent',
      status: 'active',
      scope: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
      },
    };
    for (const key of ['ppc-2', 'ppc-3', 'ppc-4', 'ppc-5'])
      expect(root(core('Consent', 'Consent', key), c)).toBe(true);
  });

  it('que-12: the corrected expression (>= 2 enableWhen need enableBehavior)', () => {
    const inv = core('Questionnaire', 'Questionnaire.item', 'que-12');
    const when = { question: 'q1', operator: 'exists', answerBoolean: true };
    const q: any = {
      resourceType: 'Questionnaire',
      item: [{ linkId: 'a', type: 'string', enableWhen: [when, when] }],
    };
    expect(holds(inv, q.item[0], q, 'BackboneElement', 'Questionnaire.item')).toBe(false);
    q.item[0].enableBehavior = 'all';
    expect(holds(inv, q.item[0], q, 'BackboneElement', 'Questionnaire.item')).toBe(true);
  });

  it("ref-1 is the engine's (tests/validation/cases/invariants/ref-1.json): no compiled copy", () => {
    expect(core('Reference', 'Reference', 'ref-1')).toBeUndefined();
  });

  it('a constraint on a datatype reached through a choice element uses the type as base', () => {
    const sd = registry.structureDefinition('Quantity')!;
    const qty3 = sd.snapshot!.element![0].constraint!.find((c) => c.key === 'qty-3')!;
    const inv = compileInvariant(qty3, 'Observation.value[x]')!;
    const o: any = { resourceType: 'Observation', valueQuantity: { value: 1, code: 'mg' } };
    const env = { resource: o, rootResource: o, typeName: 'Quantity', path: 'Observation.value[x]' };
    expect(inv.check(o.valueQuantity, env)).toBe(false);
    o.valueQuantity.system = 'http://unitsofmeasure.org';
    expect(inv.check(o.valueQuantity, env)).toBe(true);
  });
});

describe('native core invariants', () => {
  it('ele-1: an element has a value or children other than id', () => {
    const inv = core('Observation', 'Observation.code', 'ele-1');
    const env = { resource: {}, rootResource: {}, typeName: 'CodeableConcept', path: 'Observation.code' };
    expect(inv.check({ text: 'x' }, env)).toBe(true);
    expect(inv.check('x', env)).toBe(true);
    expect(inv.check({ id: 'a' }, env)).toBe(false);
    expect(inv.check({}, env)).toBe(false);
  });

  it('ext-1: an extension has nested extensions or a value, not both and not neither', () => {
    const inv = core('Extension', 'Extension', 'ext-1');
    const env = { resource: {}, rootResource: {}, typeName: 'Extension', path: 'Extension' };
    expect(inv.check({ url: 'u', valueString: 'x' }, env)).toBe(true);
    expect(inv.check({ url: 'u', extension: [{ url: 'a', valueString: 'x' }] }, env)).toBe(true);
    expect(inv.check({ url: 'u' }, env)).toBe(false);
    expect(inv.check({ url: 'u', valueString: 'x', extension: [{ url: 'a', valueString: 'x' }] }, env)).toBe(
      false,
    );
  });

  it('dom-2, dom-4, dom-5: contained resources are flat, unversioned, unlabelled', () => {
    const patient = { resourceType: 'Patient', id: 'p' };
    const base = { resourceType: 'Observation', subject: { reference: '#p' } };
    expect(root(core('Observation', 'Observation', 'dom-2'), { ...base, contained: [patient] })).toBe(true);
    expect(
      root(core('Observation', 'Observation', 'dom-2'), {
        ...base,
        contained: [{ ...patient, contained: [{ resourceType: 'Organization', id: 'o' }] }],
      }),
    ).toBe(false);
    expect(
      root(core('Observation', 'Observation', 'dom-4'), {
        ...base,
        contained: [{ ...patient, meta: { versionId: '2' } }],
      }),
    ).toBe(false);
    expect(
      root(core('Observation', 'Observation', 'dom-4'), {
        ...base,
        contained: [{ ...patient, meta: { lastUpdated: '2024-01-01T00:00:00Z' } }],
      }),
    ).toBe(false);
    expect(
      root(core('Observation', 'Observation', 'dom-5'), {
        ...base,
        contained: [{ ...patient, meta: { security: [{ code: 'R' }] } }],
      }),
    ).toBe(false);
    expect(
      root(core('Observation', 'Observation', 'dom-5'), {
        ...base,
        contained: [{ ...patient, meta: { tag: [{ code: 'R' }] } }],
      }),
    ).toBe(true);
  });

  it('dom-3: contained resources are referenced, directly, through each other, by canonical, or point home', () => {
    const inv = core('Observation', 'Observation', 'dom-3');
    const p = { resourceType: 'Patient', id: 'p', managingOrganization: { reference: '#o' } };
    const o = { resourceType: 'Organization', id: 'o' };
    expect(root(inv, { resourceType: 'Observation', subject: { reference: '#p' }, contained: [p, o] })).toBe(
      true,
    );
    expect(
      root(inv, {
        resourceType: 'Observation',
        subject: { reference: '#p' },
        contained: [{ ...p, managingOrganization: undefined }, o],
      }),
    ).toBe(false);
    expect(
      root(inv, {
        resourceType: 'Observation',
        contained: [{ resourceType: 'Provenance', id: 'v', target: [{ reference: '#' }] }],
      }),
    ).toBe(true);
    expect(
      root(inv, {
        resourceType: 'Questionnaire',
        item: [{ linkId: 'a', type: 'choice', answerValueSet: '#vs' }],
        contained: [{ resourceType: 'ValueSet', id: 'vs' }],
      }),
    ).toBe(true);
    // A reference from one unreferenced contained resource to another does not count.
    expect(root(inv, { resourceType: 'Observation', contained: [p, o] })).toBe(false);
  });

  it("dom-3: a string that only starts with '#' (a name, an identifier, an extension's string) is no reference", () => {
    const inv = core('Patient', 'Patient', 'dom-3');
    const org = { resourceType: 'Organization', id: 'o' };
    const pat = (extra: Record<string, unknown>) => ({ resourceType: 'Patient', contained: [org], ...extra });
    expect(root(inv, pat({ name: [{ text: '#o' }] }))).toBe(false);
    expect(root(inv, pat({ identifier: [{ value: '#o' }] }))).toBe(false);
    expect(root(inv, pat({ extension: [{ url: 'http://example.org/e', valueString: '#o' }] }))).toBe(false);
    expect(inv.failures?.(pat({ name: [{ text: '#o' }] }), {} as never)).toMatchObject([
      { at: 'contained[0]' },
    ]);
    // References, canonicals and uris count, also inside extensions and Bundle entries.
    expect(root(inv, pat({ managingOrganization: { reference: '#o' } }))).toBe(true);
    expect(
      root(inv, pat({ extension: [{ url: 'http://example.org/e', valueReference: { reference: '#o' } }] })),
    ).toBe(true);
    expect(root(inv, pat({ extension: [{ url: 'http://example.org/e', valueCanonical: '#o' }] }))).toBe(true);
    expect(root(inv, pat({ extension: [{ url: 'http://example.org/e', valueUri: '#o' }] }))).toBe(true);
    const q = (answerValueSet: string, text: string) => ({
      resourceType: 'Questionnaire',
      item: [
        { linkId: 'a', type: 'choice', text, answerValueSet, item: [{ linkId: 'b', type: 'display', text }] },
      ],
      contained: [{ resourceType: 'ValueSet', id: 'vs' }],
    });
    expect(root(inv, q('#vs', 'x'))).toBe(true);
    expect(root(inv, q('http://example.org/vs', '#vs'))).toBe(false);
  });

  it('dom-6: a narrative is expected on the resource (warning), not on contained ones', () => {
    const inv = core('Observation', 'Observation', 'dom-6');
    expect(inv.severity).toBe('warning');
    const contained = { resourceType: 'Patient', id: 'p' };
    const withText = {
      resourceType: 'Observation',
      text: { status: 'generated', div: div('x') },
      contained: [contained],
    };
    expect(root(inv, withText)).toBe(true);
    expect(root(inv, { resourceType: 'Observation' })).toBe(false);
    expect(
      inv.check(contained, {
        resource: contained,
        rootResource: withText,
        typeName: 'Patient',
        path: 'Patient',
      }),
    ).toBe(true);
  });

  it('txt-1: only the XHTML subset FHIR allows, well formed', () => {
    const inv = core('Narrative', 'Narrative.div', 'txt-1');
    const env = { resource: {}, rootResource: {}, typeName: 'xhtml', path: 'Narrative.div' };
    expect(inv.check(div('<p>Hei <b>Maija</b></p><table><tr><td>1</td></tr></table>'), env)).toBe(true);
    expect(inv.check(div('a&nbsp;b &amp; c'), env)).toBe(true);
    expect(inv.check(div(''), env)).toBe(true); // empty content is txt-2's business
    expect(inv.check(div('<script>alert(1)</script>'), env)).toBe(false);
    expect(inv.check(div('<p onclick="x()">a</p>'), env)).toBe(false);
    expect(inv.check(div('<p>unclosed'), env)).toBe(false);
    expect(inv.check('<p>not a div</p>', env)).toBe(false);
    expect(inv.check('<div>no namespace</div>', env)).toBe(false);
  });

  it('txt-2: the narrative has non-whitespace content', () => {
    const inv = core('Narrative', 'Narrative.div', 'txt-2');
    const env = { resource: {}, rootResource: {}, typeName: 'xhtml', path: 'Narrative.div' };
    expect(inv.check(div('<p>x</p>'), env)).toBe(true);
    expect(inv.check(div('<img src="#a"/>'), env)).toBe(true);
    expect(inv.check(div('  <p> </p> '), env)).toBe(false);
  });
});

describe('constraints that cannot be evaluated', () => {
  const broken: ElementDefinitionConstraint = {
    key: 'tst-1',
    severity: 'error',
    human: 'broken',
    expression: 'name.where(',
  };
  it('compile to a check that throws InvariantEvaluationError (a warning for the engine), never false', () => {
    const inv = compileInvariant(broken, 'Patient')!;
    const p = { resourceType: 'Patient' };
    expect(() =>
      inv.check(p, { resource: p, rootResource: p, typeName: 'Patient', path: 'Patient' }),
    ).toThrow(InvariantEvaluationError);
    expect(
      runInvariant(inv, p, { resource: p, rootResource: p, typeName: 'Patient', path: 'Patient' }),
    ).toMatchObject({
      ok: true,
      error: expect.stringMatching(/^tst-1: could not be evaluated/),
    });
  });
  it('a constraint with neither expression nor native implementation compiles to undefined', () => {
    expect(
      compileInvariant(
        { key: 'x-1', severity: 'error', human: 'x', xpath: 'f:x' } as ElementDefinitionConstraint,
        'Patient',
      ),
    ).toBeUndefined();
  });
  it('a profile constraint is evaluated with its severity and key', () => {
    const inv = compileInvariant(
      { key: 'tyk-was-1', severity: 'error', human: 'score 0-10', expression: 'value.ofType(integer) <= 10' },
      'Observation',
    )!;
    const o = { resourceType: 'Observation', valueInteger: 11 };
    expect(inv).toMatchObject({ key: 'tyk-was-1', severity: 'error', human: 'score 0-10' });
    expect(root(inv, o)).toBe(false);
    expect(root(inv, { ...o, valueInteger: 7 })).toBe(true);
  });
});

describe('skipping fhirpath.js when an invariant is trivially true', () => {
  it('finds what alone makes an invariant true', async () => {
    const { shortcutsFor } = await import('../../src/validation/invariants/shortcut.ts');
    const absent = (...path: string[]) => ({ path, when: 'absent' });
    const present = (name: string) => ({ path: [name], when: 'present' });
    expect(shortcutsFor('dataAbsentReason.empty() or value.empty()')).toEqual([
      absent('dataAbsentReason'),
      absent('value'),
    ]);
    expect(
      shortcutsFor(
        'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()',
      ),
    ).toEqual([absent('value'), absent('component', 'code')]);
    expect(shortcutsFor("entry.search.empty() or (type = 'searchset')")).toEqual([absent('entry', 'search')]);
    expect(shortcutsFor("fullUrl.exists() implies fullUrl.contains('/_history/').not()")).toEqual([
      absent('fullUrl'),
    ]);
    expect(shortcutsFor("type = 'document' implies (timestamp.hasValue())")).toEqual([
      { path: ['type'], when: 'differs', value: 'document' },
    ]);
    expect(shortcutsFor('policy.exists() or policyRule.exists()')).toEqual([
      present('policy'),
      present('policyRule'),
    ]);
    expect(shortcutsFor('start.hasValue().not() or end.hasValue().not() or (start <= end)')).toEqual([
      absent('start'),
      absent('end'),
    ]);
    expect(shortcutsFor('a.where(b.empty() or c).exists() or d.empty()')).toEqual([absent('d')]);
    // Not shortcuts: `count()` does not keep emptiness; `implies`/`xor` bind looser than `or`.
    expect(shortcutsFor('a.count().empty() or b')).toEqual([]);
    expect(shortcutsFor('a.empty() or b implies c')).toEqual([]);
    expect(shortcutsFor('a.empty() or b xor c')).toEqual([]);
    expect(shortcutsFor('a.b.exists() or c')).toEqual([]);
  });
  it('applies them to JSON nodes exactly', async () => {
    const { shortcutsFor, triviallyTrue } = await import('../../src/validation/invariants/shortcut.ts');
    const bdl2 = shortcutsFor("entry.search.empty() or (type = 'searchset')");
    expect(triviallyTrue({ entry: [{ fullUrl: 'x' }, { resource: {} }] }, bdl2)).toBe(true);
    expect(triviallyTrue({ entry: [{ search: { mode: 'match' } }] }, bdl2)).toBe(false);
    const bdl10 = shortcutsFor("type = 'document' implies (timestamp.hasValue())");
    expect(triviallyTrue({ type: 'collection' }, bdl10)).toBe(true);
    expect(triviallyTrue({ type: 'document' }, bdl10)).toBe(false);
    expect(triviallyTrue({}, bdl10)).toBe(false);
  });
  it('treats choice, primitive-extension and plain properties as present', async () => {
    const { isAbsent } = await import('../../src/validation/invariants/shortcut.ts');
    expect(isAbsent({ valueQuantity: {} }, 'value')).toBe(false);
    expect(isAbsent({ _code: { extension: [] } }, 'code')).toBe(false);
    expect(isAbsent({ code: 'x' }, 'code')).toBe(false);
    expect(isAbsent({ codeable: 'x', values: 1 }, 'value')).toBe(true);
    expect(isAbsent('a string', 'value')).toBe(false);
  });
  it('gives the same verdict as fhirpath.js (obs-6 with and without the shortcut)', () => {
    const inv = core('Observation', 'Observation', 'obs-6');
    const both = {
      resourceType: 'Observation',
      valueBoolean: false,
      _dataAbsentReason: undefined,
      dataAbsentReason: { text: 'x' },
    };
    expect(root(inv, both)).toBe(false);
    expect(root(inv, { resourceType: 'Observation', valueBoolean: false })).toBe(true);
  });
});

describe('txt-1 quick path agrees with the full check', () => {
  it('on simple, attribute-bearing, badly nested and entity-laden divs', async () => {
    const { narrativeXhtmlOk } = await import('../../src/validation/invariants/narrative.ts');
    const cases: Array<[string, boolean]> = [
      [div('<p>Hei <b>Maija</b></p><br/>'), true],
      [div('<p>a &lt; b &#160; c</p>'), true],
      [div('<p><b>bad nesting</p></b>'), false],
      [div('<br>'), false],
      [div('<p class="x">with attribute</p>'), true],
      [div('<p style="x" onclick="y">event handler</p>'), false],
      [div('<blink>no</blink>'), false],
      [div('a & b'), false],
      // The XHTML namespace must be declared on the div (the HL7 validator: "Wrong namespace").
      ['<div><p>no namespace</p></div>', false],
      ['<div xmlns="http://www.w3.org/1999/xhtmlx"><p>wrong namespace</p></div>', false],
      // xml:lang next to lang, as the HL7 validator recommends for resources with a language.
      ['<div xmlns="http://www.w3.org/1999/xhtml" lang="fi" xml:lang="fi"><p>Hei</p></div>', true],
      ['<div xmlns="http://www.w3.org/1999/xhtml" lang="fi" xml:lang="fi"><p>Hei</div>', false],
      ['<div xmlns="http://www.w3.org/1999/xhtml" lang="fi" lang="sv"><p>Hei</p></div>', false],
      ['<div xmlns="http://www.w3.org/1999/xhtml" xml:lang="fi" onload="x()"><p>Hei</p></div>', false],
      // The HL7 validator's lists: image maps, more anchor attributes, a width anywhere, pre space.
      [
        div('<map name="m"><area shape="rect" coords="0,0,1,1" href="#x" alt="x"/></map><a name="x">x</a>'),
        true,
      ],
      [
        div('<img src="#x" usemap="#m" ismap="ismap"/><a href="#x" rev="r" rel="r" hreflang="fi">x</a>'),
        true,
      ],
      [div('<p width="1">x</p><pre space="preserve" xml:space="preserve">x</pre>'), true],
      [div('<p idref="x">not in the validator\'s own element check</p>'), false],
      [div('<map name="m"><area alt="x"></map></area>'), false],
      [div('<a rev="r" rev="s">given twice</a>'), false],
      [div('<a rev="a & b">a value that is no XML</a>'), false],
      [div('<a rev="a &amp; b" rel=\'c "d"\'>values that are</a>'), true],
      [div('<area nohref="nohref"><p>x</p></area>'), true],
    ];
    for (const [html, ok] of cases) expect([html, narrativeXhtmlOk(html)]).toEqual([html, ok]);
  });

  it('txt-2 quick path: text above U+0020 is content (&#160; too); blanks and comments are not', async () => {
    const { narrativeHasContent, narrativeXhtmlOk } = await import(
      '../../src/validation/invariants/narrative.ts'
    );
    const cases: Array<[string, boolean]> = [
      [div('<p>x</p>'), true],
      [div('  <p> </p> '), false],
      // White space is what Java's String.trim() takes off (up to U+0020), as the HL7 validator trims.
      [div('<p>&#160;</p>'), true],
      [div('<p>&#xA0;</p>'), true],
      [div('<p>\u00a0</p>'), true],
      [div('<p>\u2003</p>'), true],
      [div('<p>&#32;&#x20;&#9; \t</p>'), false],
      [div('<p>&amp;</p>'), true],
      [div('<p> &#160;a</p>'), true],
      [div('<!-- only a comment -->'), false],
      [div('<p></p><br/>\n'), false],
      [div('\ufeff<b>\u3000</b>'), true],
    ];
    for (const [html, content] of cases) {
      // Asked after txt-1 on the same div (as the walker does) and on its own: the same answer.
      narrativeXhtmlOk(html);
      expect([html, narrativeHasContent(html)]).toEqual([html, content]);
      narrativeXhtmlOk(div('<p>other</p>'));
      expect([html, narrativeHasContent(html)]).toEqual([html, content]);
    }
  });
});

describe('more shortcuts', () => {
  it('coding filters, field filters on the node itself and "(a and b).not()"', async () => {
    const { shortcutsFor, triviallyTrue } = await import('../../src/validation/invariants/shortcut.ts');
    const con5 = shortcutsFor(
      "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()",
    );
    const system = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
    expect(
      triviallyTrue(
        { clinicalStatus: {}, verificationStatus: { coding: [{ system, code: 'confirmed' }] } },
        con5,
      ),
    ).toBe(true);
    expect(
      triviallyTrue(
        { clinicalStatus: {}, verificationStatus: { coding: [{ system, code: 'entered-in-error' }] } },
        con5,
      ),
    ).toBe(false);
    const org3 = shortcutsFor("where(use = 'home').empty()");
    expect(triviallyTrue({ use: 'work' }, org3)).toBe(true);
    expect(triviallyTrue({ line: ['x'] }, org3)).toBe(true);
    expect(triviallyTrue({ use: 'home' }, org3)).toBe(false);
    const qrs1 = shortcutsFor('(answer.exists() and item.exists()).not()');
    expect(triviallyTrue({ answer: [{}] }, qrs1)).toBe(true);
    expect(triviallyTrue({ answer: [{}], item: [{}] }, qrs1)).toBe(false);
  });
  it('never change a verdict: the real org-3 and con-5 still fail where they should', () => {
    const org3 = core('Organization', 'Organization.telecom', 'org-3');
    const o: any = {
      resourceType: 'Organization',
      telecom: [
        { use: 'home', value: 'x' },
        { use: 'work', value: 'y' },
      ],
    };
    expect(holds(org3, o.telecom[0], o, 'ContactPoint', 'Organization.telecom')).toBe(false);
    expect(holds(org3, o.telecom[1], o, 'ContactPoint', 'Organization.telecom')).toBe(true);
    const con5 = core('Condition', 'Condition', 'con-5');
    const system = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
    const c = {
      resourceType: 'Condition',
      clinicalStatus: { text: 'a' },
      verificationStatus: { coding: [{ system, code: 'entered-in-error' }] },
    };
    expect(root(con5, c)).toBe(false);
    expect(root(con5, { ...c, verificationStatus: { coding: [{ system, code: 'confirmed' }] } })).toBe(true);
  });
});

describe('fast paths agree with fhirpath.js', () => {
  it('vs-1, vs-2, vs-3 (vital signs) answer only cases the published expression also passes', async () => {
    const { fastPaths } = await import('../../src/validation/invariants/native.ts');
    const fhirpath = (await import('fhirpath')).default;
    const r4 = (await import('fhirpath/fhir-context/r4')).default;
    const vs = registry.structureDefinition('http://hl7.org/fhir/StructureDefinition/vitalsigns')!;
    const expr = (key: string) =>
      vs.snapshot!.element!.flatMap((e) => e.constraint ?? []).find((c) => c.key === key)!.expression!;
    const env = { resource: {}, rootResource: {}, typeName: 'Observation', path: 'Observation' };
    const published = (key: string, node: unknown, base: string) =>
      fhirpath.evaluate(node as object, { base, expression: expr(key) }, undefined, r4 as never);
    const observations = [
      { resourceType: 'Observation', valueQuantity: { value: 1 } },
      { resourceType: 'Observation', dataAbsentReason: { text: 'x' } },
      { resourceType: 'Observation', component: [{ valueString: 'a' }] },
      { resourceType: 'Observation' },
    ];
    for (const o of observations) {
      const quick = fastPaths['vs-2'](o, env);
      if (quick !== undefined) expect(published('vs-2', o, 'Observation')).toEqual([quick]);
    }
    expect(fastPaths['vs-2']({ resourceType: 'Observation' }, env)).toBeUndefined();
    for (const c of [{ valueQuantity: { value: 1 } }, { dataAbsentReason: { text: 'x' } }, {}]) {
      const quick = fastPaths['vs-3'](c, env);
      if (quick !== undefined) expect(published('vs-3', c, 'Observation.component')).toEqual([quick]);
    }
    expect(fastPaths['vs-1']('2024-05-02', env)).toBe(true);
    expect(fastPaths['vs-1']('2024', env)).toBeUndefined();
  });
  it('per-1 on equal-precision dates and dateTimes, and defers on mixed precision', async () => {
    const { fastPaths } = await import('../../src/validation/invariants/native.ts');
    const per1 = core('Period', 'Period', 'per-1');
    const env = { resource: {}, rootResource: {}, typeName: 'Period', path: 'Period' };
    for (const p of [
      { start: '2024-03-01', end: '2024-03-02' },
      { start: '2024-03-02', end: '2024-03-01' },
      { start: '2024-03-01T10:00:00+02:00', end: '2024-03-01T09:30:00Z' },
      { start: '2024-03-01T10:00:00Z', end: '2024-03-01T09:30:00Z' },
    ]) {
      const quick = fastPaths['per-1'](p, env);
      expect(quick).toBe(p.start <= p.end || Date.parse(p.start) <= Date.parse(p.end));
      expect(per1.check(p, env)).toBe(quick);
    }
    expect(fastPaths['per-1']({ start: '2024-03', end: '2024-03-01T10:00:00Z' }, env)).toBeUndefined();
  });
  it('rng-2 compares low and high as the HL7 validator does, where fhirpath.js is wrong (marked)', async () => {
    const { fastPaths } = await import('../../src/validation/invariants/native.ts');
    const fhirpath = (await import('fhirpath')).default;
    const r4 = (await import('fhirpath/fhir-context/r4')).default;
    const rng2 = core('Range', 'Range', 'rng-2');
    const expression = 'low.empty() or high.empty() or (low <= high)';
    const published = (range: object) =>
      fhirpath.evaluate(range, { base: 'Range', expression }, undefined, r4 as never);
    const env = { resource: {}, rootResource: {}, typeName: 'Range', path: 'Range' };
    const U = 'http://unitsofmeasure.org';
    // [low, high, the HL7 validator's verdict, whether fhirpath.js gives another one]
    const cases: Array<[object | undefined, object | undefined, boolean, boolean]> = [
      [{ value: 1 }, undefined, true, false],
      [undefined, { value: 1 }, true, false],
      [{ value: 1, system: U, code: 'mg' }, { value: 5, system: U, code: 'mg' }, true, false],
      [{ value: 5, system: U, code: 'mg' }, { value: 5, system: U, code: 'mg' }, true, false],
      [{ value: 5, system: U, code: 'mg' }, { value: 1, system: U, code: 'mg' }, false, false],
      [{ value: 5, system: U, code: 'g' }, { value: 1, system: U, code: 'kg' }, true, false],
      [{ value: 5, system: U, code: 'g' }, { value: 1, system: U, code: 'mg' }, false, false],
      [{ value: 1 }, { value: 5 }, true, false],
      // The Java FHIRPath engine compares Quantities without a code by value; fhirpath.js says true.
      [{ value: 5 }, { value: 1 }, false, true],
      [{ value: 5, unit: 'mg' }, { value: 1, unit: 'mg' }, false, true],
      // One non-UCUM code on both sides: compared by value; fhirpath.js says true.
      [{ value: 5, system: 'urn:x', code: 'a' }, { value: 1, system: 'urn:x', code: 'a' }, false, true],
    ];
    for (const [low, high, verdict, fhirpathJsWrong] of cases) {
      const range = { ...(low ? { low } : {}), ...(high ? { high } : {}) };
      const label = JSON.stringify(range);
      expect([label, fastPaths['rng-2'](range, env)]).toEqual([label, verdict]);
      expect([label, rng2.check(range, env)]).toEqual([label, verdict]);
      expect([label, published(range)]).toEqual([label, [fhirpathJsWrong ? !verdict : verdict]]);
    }
    // Quantities the comparison cannot decide (a value missing, units that do not convert) go to the
    // published expression.
    for (const range of [
      { low: { unit: 'mg' }, high: { value: 1 } },
      { low: { value: 5, system: U, code: 'g' }, high: { value: 1, system: U, code: 's' } },
      { low: { value: 5, system: 'urn:x', code: 'a' }, high: { value: 1, system: 'urn:x', code: 'b' } },
    ])
      expect(fastPaths['rng-2'](range, env)).toBeUndefined();
    // No other core constraint compares two Quantity elements (per-1 compares dates, tim-4/tim-5 numbers).
    expect(INVARIANTS['rng-2']?.by).toBe('fast');
  });
  it('bdl-4 by Bundle type', () => {
    const bdl4 = core('Bundle', 'Bundle', 'bdl-4');
    const b = (type: string, withResponse: boolean) => ({
      resourceType: 'Bundle',
      type,
      entry: [{ fullUrl: 'urn:uuid:1', ...(withResponse ? { response: { status: '200' } } : {}) }],
    });
    expect(root(bdl4, b('transaction-response', true))).toBe(true);
    expect(root(bdl4, b('transaction-response', false))).toBe(false);
    expect(root(bdl4, b('collection', true))).toBe(false);
    expect(root(bdl4, b('collection', false))).toBe(true);
  });
});

describe('core rules whose published form fails in JavaScript', () => {
  it('eld-19 / eld-20 check ElementDefinition.path natively', () => {
    const eld19 = core('ElementDefinition', 'ElementDefinition', 'eld-19');
    const eld20 = core('ElementDefinition', 'ElementDefinition', 'eld-20');
    const env = { resource: {}, rootResource: {}, typeName: 'ElementDefinition', path: 'ElementDefinition' };
    expect(eld19.check({ path: 'Observation.value[x]' }, env)).toBe(true);
    expect(eld19.check({ path: 'Observation.component:phase' }, env)).toBe(true);
    expect(eld19.check({ path: 'Observation.va lue' }, env)).toBe(false);
    expect(eld20.check({ path: 'Observation.valueQuantity' }, env)).toBe(true);
    expect(eld20.check({ path: 'Observation.ValueQuantity' }, env)).toBe(false);
  });
  it('eld-16 (whose published `\\@` regex fhirpath.js cannot compile) checks sliceName natively', () => {
    const eld16 = core('ElementDefinition', 'ElementDefinition', 'eld-16');
    const env = { resource: {}, rootResource: {}, typeName: 'ElementDefinition', path: 'ElementDefinition' };
    expect(eld16.check({ path: 'Patient.identifier', sliceName: 'hetu' }, env)).toBe(true);
    expect(eld16.check({ path: 'Patient.identifier', sliceName: 'a/b-c_d[x]@e' }, env)).toBe(true);
    expect(eld16.check({ path: 'Patient.identifier' }, env)).toBe(true);
    expect(eld16.check({ path: 'Patient.identifier', sliceName: 'has space' }, env)).toBe(false);
    expect(eld16.check({ path: 'Patient.identifier', sliceName: 'a:b' }, env)).toBe(false);
  });
  it('every key the table evaluates natively or corrects is one place: the table', () => {
    for (const [key, row] of Object.entries(INVARIANTS))
      expect([key, row.by]).toEqual([key, expect.any(String)]);
    expect(INVARIANTS['ref-1']?.by).toBe('engine');
    expect(INVARIANTS['eld-16']?.by).toBe('native');
    expect(INVARIANTS['que-12']?.by).toBe('corrected');
    expect(INVARIANTS['tyk-hetu-1']?.by).toBe('project');
    // The engine's own checks compile to nothing, so they never run twice.
    expect(core('Reference', 'Reference', 'ref-1')).toBeUndefined();
  });
  it('ext-1 counts a value that carries only extensions (_valueString) as a value', () => {
    const inv = core('Extension', 'Extension', 'ext-1');
    const env = { resource: {}, rootResource: {}, typeName: 'Extension', path: 'Extension' };
    expect(inv.check({ url: 'u', _valueString: { extension: [{ url: 'x', valueCode: 'y' }] } }, env)).toBe(
      true,
    );
  });
});

describe('resolve() inside invariants', () => {
  it('ctm-1 resolves contained and Bundle targets; an unresolvable member passes as in the HL7 validator', () => {
    const ctm1 = core('CareTeam', 'CareTeam.participant', 'ctm-1');
    const team = (member: string, contained: unknown[] = []) => ({
      resourceType: 'CareTeam',
      contained,
      participant: [{ member: { reference: member }, onBehalfOf: { reference: 'Organization/o1' } }],
    });
    const check = (ct: any, root: any = ct) =>
      ctm1.check(ct.participant[0], {
        resource: ct,
        rootResource: root,
        typeName: 'BackboneElement',
        path: 'CareTeam.participant',
      });
    expect(check(team('#p', [{ resourceType: 'Practitioner', id: 'p' }]))).toBe(true);
    expect(check(team('#p', [{ resourceType: 'Patient', id: 'p' }]))).toBe(false);
    expect(check(team('Practitioner/elsewhere'))).toBe(true);
    const inBundle = team('urn:uuid:1');
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient' } }, { resource: inBundle }],
    };
    expect(check(inBundle, bundle)).toBe(false);
  });
});
