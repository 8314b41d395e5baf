// A Questionnaire's enableWhen targets, as the HL7 validator checks them: each names the linkId of an
// item of the same Questionnaire, not the item itself nor an item inside it; a target that comes later
// in the Questionnaire is only a warning (it is allowed, but answered after the question it enables).
import { isObject } from '../util.ts';
import type { CheckContext } from './context.ts';

type Json = Record<string, unknown>;

const children = (node: Json): Json[] =>
  Array.isArray(node.item) ? (node.item as unknown[]).filter(isObject) : [];

/** Every item's linkId in document order, with the linkIds of the items inside it. */
function index(items: Json[], order: string[], inner: Map<string, Set<string>>): Set<string> {
  const here = new Set<string>();
  for (const item of items) {
    const linkId = typeof item.linkId === 'string' ? item.linkId : undefined;
    if (linkId !== undefined) order.push(linkId);
    const below = index(children(item), order, inner);
    if (linkId !== undefined) {
      inner.set(linkId, below);
      here.add(linkId);
    }
    for (const id of below) here.add(id);
  }
  return here;
}

export function checkQuestionnaire(walk: CheckContext, q: Json): void {
  const order: string[] = [];
  const inner = new Map<string, Set<string>>();
  index(children(q), order, inner);
  const visit = (items: Json[]) =>
    items.forEach((item, i) => {
      walk.at.push('item', i);
      const linkId = typeof item.linkId === 'string' ? item.linkId : '';
      const conditions = Array.isArray(item.enableWhen) ? item.enableWhen : [];
      conditions.forEach((c, j) => {
        if (!isObject(c) || typeof c.question !== 'string') return; // the structure check reports it
        walk.at.push('enableWhen', j);
        checkTarget(walk, linkId, c.question, order, inner);
        walk.at.pop();
      });
      visit(children(item));
      walk.at.pop();
    });
  visit(children(q));
}

function checkTarget(
  walk: CheckContext,
  linkId: string,
  target: string,
  order: string[],
  inner: Map<string, Set<string>>,
): void {
  if (!inner.has(target))
    walk.report(
      'error',
      'business-rule',
      `Unable to find an item with the linkId '${target}' which is referenced in the enableWhen for '${linkId}'`,
      'question',
    );
  else if (target === linkId)
    walk.report(
      'error',
      'business-rule',
      `Target for this question enableWhen can't reference itself`,
      'question',
    );
  else if (inner.get(linkId)?.has(target))
    walk.report(
      'error',
      'business-rule',
      `The enableWhen for '${linkId}' cannot refer to an inner question ('${target}')`,
      'question',
    );
  else if (order.indexOf(target) > order.indexOf(linkId))
    walk.report(
      'warning',
      'business-rule',
      `The target of this enableWhen ('${target}') comes after the question it enables ('${linkId}')`,
      'question',
    );
}
