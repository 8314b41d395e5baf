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
