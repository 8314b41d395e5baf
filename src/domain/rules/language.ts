/**
 * Which language a mother tongue names, as the kuntakokeilu rule asks it (DOMAIN.md; seed 002:
 * "äidinkielenä on muu kuin suomi, ruotsi tai saame"). A mother tongue is given as a BCP 47 tag
 * (`fi`, `sv-FI`, `se`) or as the ISO 639-2/3 code of a domestic language (`fin`, `swe`, `sme`), in
 * either letter case, and must be a tag the IANA Language Subtag Registry holds (src/shared/bcp47.ts).
 */
import { isBcp47, namesNoLanguage } from '../../shared/bcp47.ts';

/** The domestic languages the rule names, by primary language subtag (lower case). */
export const DOMESTIC_LANGUAGES: Readonly<Record<string, 'Finnish' | 'Swedish' | 'Sami'>> = {
  fi: 'Finnish',
  sv: 'Swedish',
  // The Sami languages: the registry's languages named Sami, and the collection `smi`.
  se: 'Sami',
  sia: 'Sami',
  sjd: 'Sami',
  sje: 'Sami',
  sjk: 'Sami',
  sjt: 'Sami',
  sju: 'Sami',
  sma: 'Sami',
  smi: 'Sami',
  smj: 'Sami',
  smn: 'Sami',
  sms: 'Sami',
};

/**
 * ISO 639-2/3 codes of domestic languages that BCP 47 writes with the two-letter ISO 639-1 code
 * instead (the registry holds only that one).
 */
const ISO_639_2_ALIASES: Readonly<Record<string, string>> = { fin: 'fi', swe: 'sv', sme: 'se' };

export type MotherTongue =
  | { kind: 'language'; subtag: string; domestic: 'Finnish' | 'Swedish' | 'Sami' | undefined }
  /** A registered tag that names no particular language (`und`, `mul`, private use). */
  | { kind: 'undetermined' }
  /** Not a language tag, or one whose language the registry does not hold. */
  | { kind: 'invalid' };

/** The language `tag` names, and whether it is one of the domestic languages. */
export function motherTongueOf(tag: string): MotherTongue {
  const [first = '', ...rest] = tag.toLowerCase().split('-');
  const primary = ISO_639_2_ALIASES[first] ?? first;
  if (!isBcp47([primary, ...rest].join('-')) || !/^[a-z]{2,3}$/.test(primary)) return { kind: 'invalid' };
  if (namesNoLanguage(primary)) return { kind: 'undetermined' };
  return { kind: 'language', subtag: primary, domestic: DOMESTIC_LANGUAGES[primary] };
}
