/**
 * Whether an object conforms to a profile, decided once per (object, profile URL) and shared by every
 * scratch walk of one run (profile discriminators in slicing, target profiles of references).
 *
 * One cycle policy: while a verdict is being decided (a resource whose conformance depends, through
 * references or slices, on its own conformance), asking again answers `true`. An undecidable cycle
 * thus never turns into a rejection; the outer evaluation still reports whatever else is wrong.
 */
export class ProfileVerdicts {
  private readonly byNode = new WeakMap<object, Map<string, boolean>>();

  decide(node: object, url: string, evaluate: () => boolean): boolean {
    let cache = this.byNode.get(node);
    if (!cache) {
      cache = new Map();
      this.byNode.set(node, cache);
    }
    const known = cache.get(url);
    if (known !== undefined) return known;
    cache.set(url, true); // in progress: the cycle policy above
    const ok = evaluate();
    cache.set(url, ok);
    return ok;
  }
}
