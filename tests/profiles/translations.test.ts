import { join } from 'node:path';
// The package's Finnish wording follows the source texts (`../shared/seeds` beside the project): the support phases are
// Primaari-, Sekundaari- and Tertiaarivaihe, and sv and en say the same.
import { describe, expect, it } from 'vitest';
import { type Json, PACKAGE, readJson } from './fixtures.ts';

describe('the work-ability phases read as the source texts name them', () => {
  const cs = readJson(join(PACKAGE, 'CodeSystem-work-ability-phase.json')) as Json;
  const concepts = cs.concept as {
    code: string;
    display: string;
    designation: { language: string; value: string }[];
  }[];
  const text = (code: string) => {
    const c = concepts.find((x) => x.code === code)!;
    const by = (l: string) => c.designation.find((d) => d.language === l)!.value;
    return { fi: c.display, sv: by('sv'), en: by('en') };
  };

  it.each([
    [
      'primary',
      {
        fi: 'Primaarivaihe: työkyvyn heikentymisen riski',
        sv: 'Primärfas: risk för nedsatt arbetsförmåga',
        en: 'Primary phase: risk of declining work ability',
      },
    ],
    [
      'secondary',
      {
        fi: 'Sekundaarivaihe: työkyky alentunut (osatyökykyinen)',
        sv: 'Sekundärfas: nedsatt arbetsförmåga (partiellt arbetsför)',
        en: 'Secondary phase: reduced work ability (partial work ability)',
      },
    ],
    [
      'tertiary',
      {
        fi: 'Tertiaarivaihe: työhön paluun ja työllistymisen kuntoutuksellinen tuki',
        sv: 'Tertiärfas: rehabiliterande stöd för återgång till arbete och sysselsättning',
        en: 'Tertiary phase: rehabilitative support for return to work and employment',
      },
    ],
  ])('%s', (code, expected) => {
    expect(text(code)).toEqual(expected);
  });
});

describe('the Kykyviisari Questionnaire says each item in sv and en too', () => {
  const TRANSLATION = 'http://hl7.org/fhir/StructureDefinition/translation';
  const q = readJson(join(PACKAGE, 'Questionnaire-kykyviisari.json')) as Json;
  const items = q.item as Json[];
  const translation = (item: Json, lang: string) =>
    (item._text?.extension as Json[] | undefined)
      ?.filter((e) => e.url === TRANSLATION)
      .find((e) => e.extension.some((x: Json) => x.url === 'lang' && x.valueCode === lang))
      ?.extension.find((x: Json) => x.url === 'content')?.valueString;

  it.each([
    ['mental-wellbeing', 'Psykiskt välbefinnande', 'Mental wellbeing'],
    ['social-participation', 'Social delaktighet', 'Social participation'],
    ['physical-functioning', 'Fysisk funktionsförmåga', 'Physical functioning'],
    ['competence', 'Kompetens', 'Competence'],
    ['everyday-life', 'Vardagen', 'Everyday life'],
  ])('%s', (linkId, sv, en) => {
    const item = items.find((i) => i.linkId === linkId)!;
    expect({ sv: translation(item, 'sv'), en: translation(item, 'en') }).toEqual({ sv, en });
  });

  it('the overall item, its commas kept', () => {
    const item = items.find((i) => i.linkId === 'overall')!;
    expect(translation(item, 'sv')).toBe(
      'Allmän arbetsförmåga: om din arbetsförmåga när den är som bäst får 10 poäng, hur många poäng skulle du ge din nuvarande arbetsförmåga?',
    );
    expect(translation(item, 'en')).toBe(
      'Overall work ability: if your work ability at its best scores 10 points, how many points would you give your current work ability?',
    );
  });
});
