/** Generated narrative (`Resource.text`): label/value rows in fi, sv or en as XHTML. */
import type { Narrative } from '@medplum/fhirtypes';
import { readProjectJson } from '../shared/project-files.ts';
import type { Language } from './terminology.ts';

const LABELS = readProjectJson<Record<Language, Record<string, string>>>('mappings/narrative.json');

export type Row = [labelKey: string, value: string | undefined];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const SPECIAL = /[&<>"]/;
function escapeXml(s: string): string {
  return SPECIAL.test(s) ? s.replace(/[&<>"]/g, (c) => ESCAPES[c]!) : s;
}

/**
 * The narrative's opening div, saying its language in both `lang` and `xml:lang` (what the HL7
 * validator asks of a resource with a `language`, and what Kanta compares with it).
 */
export function openDiv(language: Language): string {
  return `<div xmlns="http://www.w3.org/1999/xhtml" lang="${language}" xml:lang="${language}">`;
}

/** A one-paragraph narrative of the label `key` in `language`. */
export function sentence(key: string, language: Language): Narrative {
  return { status: 'generated', div: `${openDiv(language)}<p>${escapeXml(label(key, language))}</p></div>` };
}

export function label(key: string, language: Language): string {
  return LABELS[language][key] ?? key;
}

export function yesNo(value: boolean, language: Language): string {
  return label(value ? 'yes' : 'no', language);
}

/**
 * A generated narrative: a heading and one line per row that has a value. Joined from parts, so the
 * Bundle holds one flat string rather than a tree of concatenations.
 */
export function narrative(titleKey: string, rows: Row[], language: Language): Narrative {
  const parts = [openDiv(language), '<p><b>', escapeXml(label(titleKey, language)), '</b></p>'];
  for (const [key, value] of rows) {
    if (value !== undefined && value !== '')
      parts.push('<p>', escapeXml(label(key, language)), ': ', escapeXml(value), '</p>');
  }
  parts.push('</div>');
  return { status: 'generated', div: parts.join('') };
}
