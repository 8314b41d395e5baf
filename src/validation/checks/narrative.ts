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

/** The value of attribute `name` (`lang` or `xml:lang`) on the narrative's opening div tag. */
export function divAttribute(div: string, name: 'lang' | 'xml:lang'): string | undefined {
  const open = /^\s*<div\b[^>]*>/.exec(div)?.[0] ?? '';
  // `\slang` cannot match inside `xml:lang` (a colon, not white space, comes before it there).
  const pattern =
    name === 'lang' ? /\slang\s*=\s*("([^"]*)"|'([^']*)')/ : /\sxml:lang\s*=\s*("([^"]*)"|'([^']*)')/;
  const m = pattern.exec(open);
  return m ? (m[2] ?? m[3]) : undefined;
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
  const lang = divAttribute(div, 'lang');
  const xmlLang = divAttribute(div, 'xml:lang');
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
