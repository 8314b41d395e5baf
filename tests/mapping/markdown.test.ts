// Free text in a markdown element (Annotation.text of an assessment's or a referral's note) is written
// escaped, so a markdown renderer shows it as it was written (no HTML, emphasis, links or entities),
// and read back unescaped, so the round trip holds.
import { createRequire } from 'node:module';
import type { Observation, ServiceRequest } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { SCHEMAS } from '../../src/domain/index.ts';
import { fromFhir, toResources } from '../../src/mapping/index.ts';

/** A CommonMark renderer (markdown-it, through typedoc), HTML off as a careful renderer would have it. */
const MarkdownIt = createRequire(import.meta.url)('markdown-it') as new (opts: {
  html: boolean;
}) => { render(text: string): string; renderInline(text: string): string };
const md = new MarkdownIt({ html: true });

/** `text` as HTML shows it: what markdown-it's renderer escapes, for comparison with its output. */
const asHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const NOTE =
  'Asiakas <script>alert("x")</script> & *tähti* _alaviiva_ `koodi` [linkki](http://x) &amp; \\* ~~yli~~ | a |';
const LINES = '# ei otsikko\n- ei lista\n1. ei numeroitu\n> ei lainaus\n---\n+ ei\n= ei';

const assessment = (note: string) => ({ ...suvi.assessments![0]!, note });
const referral = (note: string) => ({ ...suvi.referrals![0]!, note });
const related = { consents: suvi.consents, professionals: suvi.professionals };

describe('notes in markdown elements', () => {
  it('are written escaped: a renderer shows the text, not markup', () => {
    const o = toResources('assessment', assessment(NOTE)).at(-1) as Observation;
    const written = o.note![0]!.text;
    expect(written).not.toContain('<script>');
    expect(md.renderInline(written)).toBe(asHtml(NOTE));
    const s = toResources('referral', referral(LINES), { related }).at(-1) as ServiceRequest;
    const paragraphs = md.render(s.note![0]!.text);
    expect(paragraphs).toBe(`<p>${asHtml(LINES)}</p>\n`);
  });

  it.each([
    ['assessment', NOTE],
    ['assessment', LINES],
    ['referral', `${NOTE}\n${LINES}`],
  ] as const)('read back as written (%s)', (kind, note) => {
    const value = kind === 'assessment' ? assessment(note) : referral(note);
    const resources = toResources(kind, value as never, { related });
    const read = fromFhir(resources.at(-1)!, {
      resolve: (ref) =>
        resources.find(
          (r) => (r as { identifier?: { value?: string }[] }).identifier?.[0]?.value === ref.reference,
        ),
      validate: false,
    });
    expect((read.value as { note?: string }).note).toBe(note);
  });

  it('any free text the domain takes reads back as written', () => {
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
        const resources = toResources('assessment', assessment(note) as never, { validate: false });
        const read = fromFhir(resources.at(-1)!, {
          resolve: (ref) =>
            resources.find(
              (r) => (r as { identifier?: { value?: string }[] }).identifier?.[0]?.value === ref.reference,
            ),
          validate: false,
        });
        expect((read.value as { note?: string }).note).toBe(note);
        // …and a renderer shows it as written (line breaks aside, which markdown folds).
        const written = (resources.at(-1) as Observation).note![0]!.text;
        if (!note.includes('\n') && note.trim() === note) expect(md.renderInline(written)).toBe(asHtml(note));
      }),
      { numRuns: 300 },
    );
  });
});
