// Narrative XHTML beyond txt-1: FHIR narrative is XML, so the only named entities it may use are
// XML's five (amp, lt, gt, quot, apos); HTML names such as &nbsp; are an error, as the HL7 validator
// reports them ("Illegal entity"). Numeric references (&#160;) are always fine.
import type { CompiledElement } from '../compiled.ts';
import type { CheckContext } from './context.ts';

const NAMED_ENTITY = /&([A-Za-z][A-Za-z0-9]*);/g;
const XML_ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

export function checkXhtmlEntities(ctx: CheckContext, el: CompiledElement, div: string): void {
  if (!div.includes('&')) return;
  const illegal = new Set<string>();
  for (const m of div.matchAll(NAMED_ENTITY)) if (!XML_ENTITIES.has(m[1]!)) illegal.add(`&${m[1]};`);
  if (!illegal.size) return;
  ctx.report(
    'error',
    'value',
    `${el.path}: Illegal entity ${[...illegal].join(', ')} in the XHTML: narrative may use only the XML entities &amp; &lt; &gt; &quot; &apos; (or numeric references such as &#160;)`,
  );
}

const I18N = 'see https://www.w3.org/TR/i18n-html-tech-lang/#langvalues';

/** An attribute of a start tag: its name and its value, a quoted one read whole (`>` and `=` in it too). */
const ATTRIBUTE = String.raw`\s+([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>\x60]+)))?`;
/** A start tag (`<p …>`, `<br/>`), read attribute by attribute, so a `>` inside a value does not end it. */
const START_TAG = new RegExp(String.raw`<([A-Za-z][^\s/>]*)((?:${ATTRIBUTE})*)\s*/?>`, 'g');

/** Each attribute of a start tag's attribute text (matchAll copies it, so one shared expression serves). */
const ATTRIBUTES = new RegExp(ATTRIBUTE, 'g');
/** The narrative's opening tag, after any white space. */
const OPEN_TAG = new RegExp(String.raw`^\s*${START_TAG.source}`);

/** The attributes of one start tag's attribute text, by name (the first of a repeated name). */
function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [, name, double, single, bare] of text.matchAll(ATTRIBUTES)) {
    if (name !== undefined && !out.has(name)) out.set(name, double ?? single ?? bare ?? '');
  }
  return out;
}

/** The attributes of the narrative's opening div tag; none when it does not open with a div. */
function divAttributes(div: string): Map<string, string> {
  const m = OPEN_TAG.exec(div);
  return m?.[1] === 'div' ? attributes(m[2] ?? '') : new Map();
}

/** The value of attribute `name` (`lang` or `xml:lang`) on the narrative's opening div tag. */
export function divAttribute(div: string, name: 'lang' | 'xml:lang'): string | undefined {
  return divAttributes(div).get(name);
}

/**
 * Every `lang` and `xml:lang` in the narrative, on the div and on each element inside it, in document
 * order with the attribute's name: what a rule that the whole narrative is in one language reads.
 */
export function* narrativeLanguages(div: string): Generator<['lang' | 'xml:lang', string]> {
  for (const m of div.matchAll(START_TAG)) {
    const found = attributes(m[2] ?? '');
    for (const name of ['lang', 'xml:lang'] as const) {
      const value = found.get(name);
      if (value !== undefined) yield [name, value];
    }
  }
}

/**
 * A resource with a `language` says it on its own narrative's div too, in both `lang` and `xml:lang`;
 * otherwise, or when they differ from it, a warning, as the HL7 validator gives.
 */
export function checkNarrativeLanguage(ctx: CheckContext, div: string): void {
  const language = ctx.resource?.language;
  // The resource's own narrative (the walk reaches a div through the Narrative type, not by its path).
  if (typeof language !== 'string' || (ctx.resource?.text as { div?: unknown } | undefined)?.div !== div)
    return;
  const opening = divAttributes(div);
  const lang = opening.get('lang');
  const xmlLang = opening.get('xml:lang');
  if (lang === undefined || xmlLang === undefined) {
    const missing =
      lang === undefined && xmlLang === undefined
        ? 'does not have a lang or an xml:lang attribute (needs both'
        : `does not have ${lang === undefined ? 'a lang' : 'an xml:lang'} attribute (needs both lang and xml:lang`;
    ctx.report('warning', 'business-rule', `Resource has a language, but the XHTML ${missing} - ${I18N})`);
  }
  for (const [name, value] of [
    ['lang', lang],
    ['xml:lang', xmlLang],
  ] as const) {
    if (value !== undefined && value.toLowerCase() !== language.toLowerCase())
      ctx.report(
        'warning',
        'business-rule',
        `Resource has a language (${language}), and the XHTML has ${name === 'lang' ? 'a lang' : 'an xml:lang'} (${value}), but they differ`,
      );
  }
}
