// BCP-47 language tags (RFC 5646), the one home of the IANA Language Subtag Registry here: the shape,
// then the subtags of a normal tag looked up in the registry, as the HL7 validator does (a well-formed `suomi` or `fi-XX` names no
// registered language or region). The registry is the `language-subtag-registry` package's data
// (CC0), read on the first check. Private-use tags (`x-…`) and the registry's grandfathered tags are
// accepted as they are; extensions and private-use parts after the subtags are not registered.
// Hand-written: the subtag walk below (the one maintained npm validator refuses private-use tags).
import { createRequire } from 'node:module';

// RFC 5646's grammar, letter case free: langtag, private use, grandfathered irregular and regular.
const SHAPE =
  /^(?:(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})(?:-[a-z]{4})?(?:-(?:[a-z]{2}|\d{3}))?(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*(?:-[\da-wy-z](?:-[a-z\d]{2,8})+)*(?:-x(?:-[a-z\d]{1,8})+)?|x(?:-[a-z\d]{1,8})+|i-[a-z]{2,8}|[a-z]{2,3}-[a-z]{2,8}(?:-[a-z]{2,8})?)$/i;

type Kind = 'language' | 'extlang' | 'script' | 'region' | 'variant' | 'grandfathered';

interface Registered {
  /** Subtags (lower case) of each kind. */
  subtags: Record<Kind, Set<string>>;
  /** Private-use ranges such as `qaa..qtz`, per kind, as [first, last]. */
  ranges: Record<Kind, Array<[string, string]>>;
}

let registry: Registered | undefined;

function load(): Registered {
  const require = createRequire(import.meta.url);
  const kinds: Kind[] = ['language', 'extlang', 'script', 'region', 'variant', 'grandfathered'];
  const subtags = {} as Registered['subtags'];
  const ranges = {} as Registered['ranges'];
  for (const kind of kinds) {
    const keys = Object.keys(require(`language-subtag-registry/data/json/${kind}.json`) as object);
    subtags[kind] = new Set(keys.filter((k) => !k.includes('..')));
    ranges[kind] = keys.filter((k) => k.includes('..')).map((k) => k.split('..') as [string, string]);
  }
  return { subtags, ranges };
}

function registered(kind: Kind, subtag: string): boolean {
  registry ??= load();
  if (registry.subtags[kind].has(subtag)) return true;
  return registry.ranges[kind].some(
    ([first, last]) => subtag.length === first.length && subtag >= first && subtag <= last,
  );
}

/** The subtags of a normal tag in order (language, extlangs, script, region, variants), each registered. */
function subtagsRegistered(parts: string[]): boolean {
  let i = 0;
  if (!registered('language', parts[i++] as string)) return false;
  for (let n = 0; n < 3 && /^[a-z]{3}$/.test(parts[i] ?? ''); n++)
    if (!registered('extlang', parts[i++] as string)) return false;
  if (/^[a-z]{4}$/.test(parts[i] ?? '') && !registered('script', parts[i++] as string)) return false;
  if (/^(?:[a-z]{2}|\d{3})$/.test(parts[i] ?? '') && !registered('region', parts[i++] as string))
    return false;
  while (/^(?:[a-z\d]{5,8}|\d[a-z\d]{3})$/.test(parts[i] ?? ''))
    if (!registered('variant', parts[i++] as string)) return false;
  return true; // what follows is an extension or private use: not registered subtags
}

/**
 * The registry's language subtags that name no particular language (`mis`, `mul`, `und`, `zxx`) and its
 * private-use range (`qaa..qtz`): a tag with one of them is well formed but says nothing of a language.
 */
export function namesNoLanguage(subtag: string): boolean {
  const lower = subtag.toLowerCase();
  special ??= new Set(
    Object.keys(createRequire(import.meta.url)('language-subtag-registry/data/json/special.json') as object),
  );
  return special.has(lower) || (lower.length === 3 && lower >= 'qaa' && lower <= 'qtz');
}
let special: Set<string> | undefined;

/** Whether `tag` is a well-formed BCP-47 tag whose subtags the IANA registry holds. */
export function isBcp47(tag: string): boolean {
  if (!SHAPE.test(tag)) return false;
  const lower = tag.toLowerCase();
  if (lower.startsWith('x-')) return true;
  if (registered('grandfathered', lower)) return true;
  return subtagsRegistered(lower.split('-'));
}
