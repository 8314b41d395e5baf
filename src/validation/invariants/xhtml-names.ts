// The XHTML names a FHIR narrative may use, as the HL7 validator lists them (its narrative element
// check and its htmlChecks(), which allow the same elements; an attribute must pass both): HTML 4.0's
// formatting elements, anchors, images and image maps. fhirpath.js's htmlChecks() allows fewer names,
// so it is left to judge only the XML of a copy holding names it knows (`engineCopy`).

/** Elements a narrative may use. */
export const NARRATIVE_ELEMENTS = new Set(
  'p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym cite blockquote hr address bdo kbd sub sup ul ol li dl dt dd pre table caption colgroup col thead tr tfoot tbody th td code samp img map area'.split(
    ' ',
  ),
);

/** Attributes allowed on every element (`xml:space` only earns a hint there, never an error). */
const ON_ANY = new Set(
  'title style class id lang xml:lang xml:space dir accesskey tabindex span width align valign char charoff abbr axis headers scope rowspan colspan'.split(
    ' ',
  ),
);

/** Attributes allowed on one element, as `element.attribute`. */
const ON_ONE = new Set(
  'a.href a.name a.charset a.type a.hreflang a.rel a.rev a.shape a.coords img.src img.border img.alt img.longdesc img.height img.width img.usemap img.ismap map.name area.shape area.coords area.href area.nohref area.alt blockquote.cite q.cite table.summary table.width table.border table.frame table.rules table.cellspacing table.cellpadding pre.space td.nowrap'.split(
    ' ',
  ),
);

function allowed(element: string, attribute: string): boolean {
  // Namespace declarations of any kind (`xmlns`, `xmlns:x`): their value is the XML's business.
  return attribute.startsWith('xmlns') || ON_ANY.has(attribute) || ON_ONE.has(`${element}.${attribute}`);
}

// What fhirpath.js accepts of the above; the rest is renamed (elements) or taken out (attributes) of
// its copy.
const ENGINE_ON_ANY = new Set(
  'xmlns title style class id lang dir accesskey tabindex span align valign char charoff abbr axis headers scope rowspan colspan'.split(
    ' ',
  ),
);
const ENGINE_ON_ONE = new Set(
  'a.href a.name img.src img.border img.alt img.longdesc img.height img.width blockquote.cite q.cite table.summary table.width table.border table.frame table.rules table.cellspacing table.cellpadding td.nowrap col.width colgroup.width th.width td.width'.split(
    ' ',
  ),
);
const ENGINE_RENAMED: Record<string, string> = { map: 'span', area: 'span' };

// A start or end tag as XML writes it (white space before each attribute, values quoted without `<`),
// or a comment, skipped whole. Anything else that opens with `<` is left for fhirpath.js to refuse.
const TAG =
  /<!--[\s\S]*?-->|<(\/?)([^ \t\r\n/>!?]+)((?:[ \t\r\n]+[^ \t\r\n=/>]+[ \t\r\n]*=[ \t\r\n]*(?:"[^"<]*"|'[^'<]*'))*)[ \t\r\n]*(\/?)>/g;
const ATTRIBUTE = /([^ \t\r\n=/>]+)[ \t\r\n]*=[ \t\r\n]*("[^"<]*"|'[^'<]*')/g;

export interface EngineCopy {
  /** The narrative with the names fhirpath.js does not know renamed or taken out. */
  copy: string;
  /** The quoted values of the attributes taken out (still to be judged as XML). */
  values: string[];
}

/**
 * Judges the narrative's element and attribute names and its tags' nesting (an attribute given twice
 * too, as the copy may no longer show it); undefined when one is wrong, else the copy for fhirpath.js.
 */
export function engineCopy(div: string): EngineCopy | undefined {
  const open: string[] = [];
  const values: string[] = [];
  let bad = false;
  const copy = div.replace(TAG, (tag: string, end?: string, name?: string, attrs = '', empty = '') => {
    if (bad || name === undefined) return tag;
    if (!NARRATIVE_ELEMENTS.has(name) || (end && (attrs || empty))) {
      bad = true;
      return tag;
    }
    const as = ENGINE_RENAMED[name] ?? name;
    if (end) {
      if (open.pop() !== name) bad = true;
      return `</${as}>`;
    }
    if (!empty) open.push(name);
    const kept = attrs ? keptAttributes(name, as, attrs, values) : '';
    if (kept === undefined) bad = true;
    return `<${as}${kept ?? ''}${empty ? '/' : ''}>`;
  });
  return bad || open.length ? undefined : { copy, values };
}

/** The attributes fhirpath.js knows on `as`, written back; the others' values go to `values`. */
function keptAttributes(name: string, as: string, attrs: string, values: string[]): string | undefined {
  let out = '';
  const seen = new Set<string>();
  for (const m of attrs.matchAll(ATTRIBUTE)) {
    const [, attribute, quoted] = m as unknown as [string, string, string];
    if (!allowed(name, attribute) || seen.has(attribute)) return undefined;
    seen.add(attribute);
    if (ENGINE_ON_ANY.has(attribute) || ENGINE_ON_ONE.has(`${as}.${attribute}`))
      out += ` ${attribute}=${quoted}`;
    else values.push(quoted);
  }
  return out;
}
