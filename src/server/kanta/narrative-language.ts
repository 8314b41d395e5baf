// The languages a narrative says it is in: the `lang` and `xml:lang` of every element of the div,
// not only of the div itself — Kanta PHR's narrative is in the resource's `language`, all of it.
import { narrativeLanguageAttribute } from '../../validation/index.ts';

/** Every start tag (`<p …>`, `<span …/>`); comments and declarations do not start with a letter. */
const START_TAG = /<[A-Za-z][^\s/>]*(?:\s[^>]*)?>/g;

/** Each `lang` / `xml:lang` value in the div, in document order, with the attribute's name. */
export function* narrativeLanguages(div: string): Generator<['lang' | 'xml:lang', string]> {
  for (const [tag] of div.matchAll(START_TAG)) {
    // The validator's reader of a div's attributes, given each element's tag as a div's.
    const asDiv = tag.replace(/^<[^\s/>]+/, '<div');
    for (const name of ['lang', 'xml:lang'] as const) {
      const value = narrativeLanguageAttribute(asDiv, name);
      if (value !== undefined) yield [name, value];
    }
  }
}
