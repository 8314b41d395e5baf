// Internal links in narrative (R4 narrative.html): an `<a href="#x">` or `<img src="#x">` points
// inside the resource, so `x` must be the id of a contained resource or of an element, or an anchor
// (`id` / `name` attribute) in a narrative of the resource. Inside a Bundle the other entries count
// too (a document's narratives may link across its resources). An unresolvable link is a warning: the
// HL7 validator accepts such resources (its test case bundle-with-contained expects no errors), and 26
// R4 core resources carry such links. `#` alone (the top of the page) is always fine.
import { isObject } from '../util.ts';
import type { CheckContext } from './context.ts';

const LINK = /<(a|img)\b[^>]*?\s(href|src)\s*=\s*(?:"#([^"]*)"|'#([^']*)')/gi;
const ANCHOR = /\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

export function checkNarrativeLinks(ctx: CheckContext, path: string, div: string): void {
  if (!div.includes('"#') && !div.includes("'#")) return;
  let targets: Set<string> | undefined;
  for (const m of div.matchAll(LINK)) {
    const tag = m[1]!.toLowerCase();
    const attr = m[2]!.toLowerCase();
    if ((tag === 'a' && attr !== 'href') || (tag === 'img' && attr !== 'src')) continue;
    const target = decodeEntities(m[3] ?? m[4] ?? '');
    if (!target) continue;
    targets ??= linkTargets(ctx);
    if (targets.has(target)) continue;
    ctx.report(
      'warning',
      'value',
      `${path}: ${ctx.policy.valuesInMessages ? `the internal link '#${target}'` : 'an internal link'} (${tag} ${attr}) does not resolve to a contained resource, an element id or an anchor in the narrative`,
    );
  }
}

/** Targets inside a Bundle, gathered once per run (keyed by the outermost Bundle's scope). */
const bundleTargets = new WeakMap<object, Set<string>>();

function linkTargets(ctx: CheckContext): Set<string> {
  const outer = ctx.bundles[0];
  if (outer) {
    let set = bundleTargets.get(outer);
    if (!set) {
      set = new Set();
      for (const e of outer.entries) collect(e.resource, set);
      bundleTargets.set(outer, set);
    }
    return set;
  }
  const out = new Set<string>();
  collect(ctx.rootResource ?? ctx.resource, out);
  return out;
}

/** Every `id` property and every narrative anchor below `v`. */
function collect(v: unknown, out: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) collect(x, out);
    return;
  }
  if (!isObject(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'id' && typeof x === 'string') out.add(x);
    else if (k === 'div' && typeof x === 'string')
      for (const m of x.matchAll(ANCHOR)) out.add(decodeEntities(m[1] ?? m[2] ?? ''));
    else if (typeof x === 'object' && x !== null) collect(x, out);
  }
}

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (ref, d) => codePoint(Number(d)) ?? ref)
    .replace(/&#x([0-9a-fA-F]+);/g, (ref, h) => codePoint(Number.parseInt(h, 16)) ?? ref)
    .replace(/&amp;/g, '&');
}

/** The character `n` names, or undefined beyond Unicode (the reference then stays as written). */
function codePoint(n: number): string | undefined {
  return n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}
