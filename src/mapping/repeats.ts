/**
 * Repeats the profiles allow once (a slice or element `..1`): the reader refuses the second at its
 * element, as the profile does, rather than read the first and drop the rest.
 */

/** The index of the second item of `list` that `holds` is true of; -1 when there is at most one. */
export function secondIndex<T>(
  list: readonly T[] | undefined,
  holds: (item: T) => boolean = () => true,
): number {
  let seen = false;
  for (const [i, item] of (list ?? []).entries()) {
    if (!holds(item)) continue;
    if (seen) return i;
    seen = true;
  }
  return -1;
}

/** What the refusal of a second `what` says. */
export function secondOne(what: string): string {
  return `a second ${what}; the profile allows one`;
}

/** An extension as such a refusal names it: the last segment of its URL (`follow-up-date extension`). */
export function extensionName(url: string): string {
  return `${url.slice(url.lastIndexOf('/') + 1)} extension`;
}
