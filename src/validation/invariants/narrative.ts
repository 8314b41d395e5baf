import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { NARRATIVE_ELEMENTS, engineCopy } from './xhtml-names.ts';

// fhirpath.js implements the FHIR `htmlChecks()` rules (allowed XHTML subset, attributes, well-formed
// XML). Its subset is narrower than the HL7 validator's, so here it judges the XML only (the names are
// xhtml-names.ts's). It folds the non-empty-content rule (txt-2) into the same check, so txt-1 is asked
// about a copy of the div with content added, and txt-2 is checked on its own.
const htmlChecks = fhirpath.compile({ base: 'Narrative.div', expression: 'htmlChecks()' }, r4 as any) as (
  div: string,
  env: Record<string, unknown>,
) => unknown[];

// HTML named entities that narrative generators commonly emit. txt-1 judges the structure only, so they
// are read as the characters they name here; that FHIR allows only XML's five entities is a separate
// rule (checks/narrative.ts).
const htmlEntities: Record<string, number> = {
  nbsp: 160,
  copy: 169,
  reg: 174,
  trade: 8482,
  ndash: 8211,
  mdash: 8212,
  hellip: 8230,
  lsquo: 8216,
  rsquo: 8217,
  ldquo: 8220,
  rdquo: 8221,
  laquo: 171,
  raquo: 187,
  euro: 8364,
  deg: 176,
  plusmn: 177,
  times: 215,
  divide: 247,
  middot: 183,
  bull: 8226,
  micro: 181,
  para: 182,
  sect: 167,
  shy: 173,
  auml: 228,
  ouml: 246,
  aring: 229,
  uuml: 252,
  Auml: 196,
  Ouml: 214,
  Aring: 197,
  Uuml: 220,
  eacute: 233,
  egrave: 232,
  Eacute: 201,
  le: 8804,
  ge: 8805,
  ne: 8800,
  larr: 8592,
  rarr: 8594,
};

function withNumericEntities(div: string): string {
  return div.replace(/&([A-Za-z]+);/g, (m, name: string) =>
    htmlEntities[name] ? `&#${htmlEntities[name]};` : m,
  );
}

const xhtmlRoot =
  /^\s*<div\b[^>]*?\sxmlns\s*=\s*(?:"http:\/\/www\.w3\.org\/1999\/xhtml"|'http:\/\/www\.w3\.org\/1999\/xhtml')/;

/** fhirpath.js's verdict on a div (it folds txt-2 in: callers give it some content). */
function engineAccepts(div: string): boolean {
  const result = htmlChecks(div, {});
  return result.length === 1 && result[0] === true;
}

const withContent = (div: string) => div.replace(/<\/div>\s*$/, ' x</div>');

/**
 * txt-1: the div is well-formed XHTML using only the allowed elements and attributes. The names are
 * judged by the HL7 validator's lists (xhtml-names.ts), the XML by fhirpath.js on a copy holding only
 * names it knows; the values of the attributes taken out of that copy are put to it apart.
 */
export function narrativeXhtmlOk(div: unknown): boolean {
  if (typeof div !== 'string') return true; // absence is a cardinality question, not txt-1
  if (glance(div) !== NOT_PLAIN) return true;
  // The narrative root must be the XHTML div in the XHTML namespace; fhirpath.js does not insist on
  // the declaration, the HL7 validator does ("Wrong namespace on the XHTML").
  if (!xhtmlRoot.test(div)) return false;
  const text = withNumericEntities(div);
  // fhirpath.js's names are a subset of the HL7 validator's: what it accepts as it stands is fine.
  if (engineAccepts(withContent(text))) return true;
  const names = engineCopy(text);
  if (!names || !engineAccepts(withContent(names.copy))) return false;
  if (!names.values.length) return true;
  const values = names.values.map((v) => `<span title=${v}/>`).join('');
  return engineAccepts(`${openingDiv}${values} x</div>`);
}

/**
 * txt-2: the narrative has some content: an image, or text other than white space. The HL7 validator
 * rewrites txt-2 as htmlChecks2(), which trims text as Java's String.trim() does: only characters up to
 * U+0020 are white space, so a no-break space (`&#160;`) is content.
 */
export function narrativeHasContent(div: unknown): boolean {
  if (typeof div !== 'string') return true;
  if (glance(div) === PLAIN_WITH_TEXT) return true;
  if (/<img\b/i.test(div)) return true;
  const text = div
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<[^>]*>/g, '')
    .replace(/&#(x[0-9a-fA-F]+|[0-9]+);/g, (_, n: string) =>
      Number(n[0] === 'x' ? `0${n}` : n) > 0x20 ? 'x' : ' ',
    );
  for (let i = 0; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) return true;
  return false;
}

const voidElements = new Set(['br', 'hr', 'img', 'col']);
const tagRe = /<(\/?)([a-z][a-z0-9]*)\s*(\/?)>/g;
const openingDiv = '<div xmlns="http://www.w3.org/1999/xhtml">';
/** The opening div of the common narrative, our SDK's with its language (`lang`, then `xml:lang`). */
const plainOpening =
  /^<div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml"(?: lang="[A-Za-z0-9-]{1,35}")?(?: xml:lang="[A-Za-z0-9-]{1,35}")?>/;
const safeText = /^(?:[^<>&]|&(?:amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});)*$/;

const NOT_PLAIN = 0;
const PLAIN = 1;
/** Plain, and some text outside tags that is not white space (txt-2 holds). */
const PLAIN_WITH_TEXT = 2;
type Glance = typeof NOT_PLAIN | typeof PLAIN | typeof PLAIN_WITH_TEXT;

// txt-1 and txt-2 ask about the same div one after the other: the last glance is kept.
let lastDiv: string | undefined;
let lastGlance: Glance = NOT_PLAIN;

function glance(div: string): Glance {
  if (div !== lastDiv) {
    lastGlance = plainGlance(div);
    lastDiv = div;
  }
  return lastGlance;
}

/**
 * A quick "certainly fine" for the common narrative: the XHTML div (with at most its language) holding
 * attribute-free allowed elements, properly nested, and plain text. Anything else goes to the full
 * check.
 */
function plainGlance(div: string): Glance {
  const opening = plainOpening.exec(div);
  if (!opening || !div.endsWith('</div>')) return NOT_PLAIN;
  const end = div.length - 6;
  const stack: string[] = [];
  let last = opening[0].length;
  let text = false;
  tagRe.lastIndex = last;
  for (let m = tagRe.exec(div); m && m.index < end; m = tagRe.exec(div)) {
    const seg = segmentText(div, last, m.index);
    if (seg === BAD_TEXT) return NOT_PLAIN;
    if (seg === SOME_TEXT) text = true;
    last = m.index + m[0].length;
    const [, closing, name, selfClosing] = m;
    if (!NARRATIVE_ELEMENTS.has(name)) return NOT_PLAIN;
    if (closing) {
      if (selfClosing || stack.pop() !== name) return NOT_PLAIN;
    } else if (!selfClosing && !voidElements.has(name)) {
      stack.push(name);
    } else if (!selfClosing) {
      return NOT_PLAIN; // <br> without "/" is not well-formed XML
    }
  }
  if (stack.length !== 0 || last > end) return NOT_PLAIN;
  const seg = segmentText(div, last, end);
  if (seg === BAD_TEXT) return NOT_PLAIN;
  return text || seg === SOME_TEXT ? PLAIN_WITH_TEXT : PLAIN;
}

const BAD_TEXT = 0;
const BLANK_OR_ENTITIES = 1;
const SOME_TEXT = 2;

/**
 * The text between two tags: BAD_TEXT when it holds `<`, `>` or an `&` that starts no XML/numeric
 * entity; SOME_TEXT when it has a character other than white space outside entities.
 */
function segmentText(div: string, from: number, to: number): number {
  let text = false;
  let entity = false;
  for (let i = from; i < to; i++) {
    const c = div.charCodeAt(i);
    if (c === 60 || c === 62) return BAD_TEXT;
    if (c === 38) entity = true;
    else if (!text && !isSpace(c)) text = true;
  }
  if (!entity) return text ? SOME_TEXT : BLANK_OR_ENTITIES;
  // Entities: the published pattern decides whether they are well formed; narrativeHasContent whether
  // one is content (`&#160;` is, `&#32;` is not).
  return safeText.test(div.slice(from, to)) ? BLANK_OR_ENTITIES : BAD_TEXT;
}

/** White space as txt-2 sees it (Java's String.trim(): every code up to U+0020). */
function isSpace(c: number): boolean {
  return c <= 0x20;
}
