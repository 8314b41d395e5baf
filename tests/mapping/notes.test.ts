// A note (`Assessment.note`, `Referral.note`) goes into `Annotation.text` exactly as written and comes
// back byte-identical: the SDK neither escapes nor unescapes the markdown it is written into.
import type { Observation, ServiceRequest } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maija, suvi } from '../../examples/tools/personas.ts';
import { SCHEMAS } from '../../src/domain/index.ts';
import { fromFhir, toFhir, toResources } from '../../src/mapping/index.ts';

const NOTES = [
  '**x** <b>lihava</b> \\* ja &amp; sekä C:\\tyo\\*.docx',
  '**Tärkeä:** seuraava käynti\n- ti 3.3.\n- ke 4.3.',
  '# otsikko\n1. eka\n2) toka\n> lainaus `koodi` [linkki](https://example.fi) ~~x~~ | a | b |',
  'tulos 5\\-7 \\_ok \\\\ kaksi',
];

describe('notes are written and read as given', () => {
  it.each(NOTES)('assessment note %j: Annotation.text is the note; read back byte-identical', (note) => {
    const assessment = { ...maija.assessments![0]!, note };
    const bundle = toFhir({ ...maija, assessments: [assessment] });
    const obs = bundle.entry!.map((e) => e.resource as Observation).find((r) => r.note)!;
    expect(obs.note![0]!.text).toBe(note);
    expect(fromFhir(bundle).assessments![0]!.note).toBe(note);
  });

  it.each(NOTES)('referral note %j: Annotation.text is the note; read back byte-identical', (note) => {
    const referral = { ...suvi.referrals![0]!, note };
    const bundle = toFhir({ ...suvi, referrals: [referral] });
    const sr = bundle
      .entry!.map((e) => e.resource as ServiceRequest)
      .find((r) => r.resourceType === 'ServiceRequest')!;
    expect(sr.note![0]!.text).toBe(note);
    expect(fromFhir(bundle).referrals![0]!.note).toBe(note);
  });

  it("another sender's markdown is read as written and sent back as it came", () => {
    const bundle = toFhir(maija);
    const obs = bundle.entry!.map((e) => e.resource as Observation).find((r) => r.note)!;
    obs.note![0]!.text = NOTES[1]!;
    const again = toFhir(fromFhir(bundle));
    const back = again.entry!.map((e) => e.resource as Observation).find((r) => r.note)!;
    expect(back.note![0]!.text).toBe(NOTES[1]);
  });

  it('any free text the domain takes as a note is written and read back as it is', () => {
    const text = (SCHEMAS.assessment as unknown as { properties: { note: { pattern: string } } }).properties
      .note;
    const rule = new RegExp(text.pattern, 'u');
    const noteArb = fc
      .string({
        unit: fc.constantFrom(...'\\`*_{}[]()<>#+-.!|~&=:;"\'/ \n\taä1-9'.split('')),
        minLength: 1,
        maxLength: 40,
      })
      .filter((s) => rule.test(s));
    fc.assert(
      fc.property(noteArb, (note) => {
        const resources = toResources('assessment', { ...maija.assessments![0]!, note } as never, {
          validate: false,
        });
        expect((resources.at(-1) as Observation).note![0]!.text).toBe(note);
        const read = fromFhir(resources.at(-1)!, {
          resolve: (ref) =>
            resources.find(
              (r) => (r as { identifier?: { value?: string }[] }).identifier?.[0]?.value === ref.reference,
            ),
          validate: false,
        });
        expect((read.value as { note?: string }).note).toBe(note);
      }),
      { numRuns: 300 },
    );
  });
});
