import { isObject } from '../util.ts';
import type { CheckContext } from './context.ts';
import { checkAnswerConstraints, checkOccurs, checkOptions } from './questionnaire-answers.ts';
import { enablement } from './questionnaire-enable.ts';

type Json = Record<string, unknown>;

/** Answer value[x] types each Questionnaire item type accepts (R4). */
const ANSWER_TYPES: Record<string, string[]> = {
  boolean: ['Boolean'],
  decimal: ['Decimal'],
  integer: ['Integer'],
  date: ['Date'],
  dateTime: ['DateTime'],
  time: ['Time'],
  string: ['String'],
  text: ['String'],
  url: ['Uri'],
  choice: ['Coding', 'Date', 'Time', 'Integer', 'String'],
  'open-choice': ['Coding', 'Date', 'Time', 'Integer', 'String'],
  attachment: ['Attachment'],
  reference: ['Reference'],
  quantity: ['Quantity'],
};

/**
 * A QuestionnaireResponse against its Questionnaire (resolved from `questionnaire`: a contained `#id`
 * or a canonical the registry holds), with the HL7 validator's rules: every linkId exists in the
 * Questionnaire, at its place and in order; item text matches; required items are answered (a warning
 * while `in-progress`); one answer unless `repeats`; answer types match the item type; choice answers
 * are among the `answerOption`s; groups and displays have no answers. An item with `enableWhen` is
 * required only when it is certainly enabled, and its answers are refused only when it is certainly
 * disabled (questionnaire-enable.ts). Called with the walk at the response's root.
 */
export function checkQuestionnaireResponse(walk: CheckContext, qr: Json): void {
  const ref = qr.questionnaire;
  if (typeof ref !== 'string') return;
  const q = resolveQuestionnaire(walk, qr, ref);
  if (!q) {
    walk.report(
      'warning',
      'not-found',
      `The questionnaire '${ref}' could not be resolved, so no validation can be performed against the base questionnaire`,
      'questionnaire',
    );
    return;
  }
  const inProgress = qr.status === 'in-progress';
  const all: QuestionnaireFacts = { linkIds: new Set<string>(), questionnaire: q };
  collectLinkIds(items(q), all.linkIds);
  checkItems(walk, items(q), items(qr), inProgress, all, [qr]);
}

function resolveQuestionnaire(walk: CheckContext, qr: Json, ref: string): Json | undefined {
  if (ref.startsWith('#')) {
    const contained = Array.isArray(qr.contained) ? qr.contained : [];
    return contained.find(
      (c): c is Json => isObject(c) && c.resourceType === 'Questionnaire' && c.id === ref.slice(1),
    );
  }
  // `url|version` as a declared profile resolves (resource-profiles.ts): the version held, or nothing.
  const registry = walk.compiler.registry;
  const r = registry.holdsVersion(ref) ? registry.resolve(ref) : undefined;
  return r?.resourceType === 'Questionnaire' ? (r as unknown as Json) : undefined;
}

function items(node: Json): Json[] {
  return Array.isArray(node.item) ? (node.item as unknown[]).filter(isObject) : [];
}

function collectLinkIds(qItems: Json[], out: Set<string>): void {
  for (const q of qItems) {
    if (typeof q.linkId === 'string') out.add(q.linkId);
    collectLinkIds(items(q), out);
  }
}

/** The response items under one parent (QR root, item or answer) against the Questionnaire items there. */
function checkItems(
  walk: CheckContext,
  qItems: Json[],
  rItems: Json[],
  inProgress: boolean,
  all: QuestionnaireFacts,
  scopes: Json[],
): void {
  const byLinkId = new Map<string, Array<{ item: Json; index: number }>>();
  let last = -1;
  for (let i = 0; i < rItems.length; i++) {
    const linkId = rItems[i].linkId;
    if (typeof linkId !== 'string') continue; // linkId 1..1 is reported by the structure check
    const at = qItems.findIndex((q) => q.linkId === linkId);
    walk.at.push('item', i);
    if (at < 0) {
      walk.report(
        'error',
        'structure',
        all.linkIds.has(linkId)
          ? `Structural Error: the item with linkId '${linkId}' is in the wrong place`
          : `LinkId '${linkId}' not found in questionnaire`,
      );
    } else {
      if (at < last) walk.report('error', 'structure', 'Structural Error: items are out of order');
      last = Math.max(last, at);
      const list = byLinkId.get(linkId) ?? [];
      list.push({ item: rItems[i], index: i });
      byLinkId.set(linkId, list);
    }
    walk.at.pop();
  }
  for (const q of qItems) {
    const linkId = typeof q.linkId === 'string' ? q.linkId : '';
    const found = byLinkId.get(linkId);
    const state = hasEnableWhen(q) ? enablement(q, scopes) : 'enabled';
    if (!found) {
      if (q.required === true && state === 'enabled') {
        walk.report(
          inProgress ? 'warning' : 'error',
          'required',
          `No response found for required item with id = '${linkId}'`,
        );
      }
      continue;
    }
    if (q.type === 'group') {
      walk.at.push('item', found[0].index);
      checkOccurs(walk, q, found.length, linkId);
      walk.at.pop();
    }
    if (found.length > 1 && q.repeats !== true && q.type !== 'group') {
      walk.at.push('item', found[1].index);
      walk.report('error', 'structure', `Only one response item with linkId '${linkId}' allowed`);
      walk.at.pop();
    }
    for (const { item, index } of found) {
      walk.at.push('item', index);
      if (state === 'disabled' && Array.isArray(item.answer) && item.answer.length) {
        walk.report(
          'error',
          'business-rule',
          `Item has answer, even though it is not enabled (item id = '${linkId}')`,
        );
      }
      checkItem(walk, q, item, { inProgress, all, scopes, enabled: state === 'enabled' });
      walk.at.pop();
    }
  }
}

/** What the whole run knows of the Questionnaire: its linkIds (at any depth) and the resource. */
interface QuestionnaireFacts {
  linkIds: Set<string>;
  questionnaire: Json;
}

interface ItemContext {
  inProgress: boolean;
  all: QuestionnaireFacts;
  /** The response nodes enclosing the item, root first. */
  scopes: Json[];
  /** Certainly enabled (no enableWhen, or one that certainly holds). */
  enabled: boolean;
}

function checkItem(walk: CheckContext, q: Json, item: Json, cx: ItemContext): void {
  const { inProgress, all, scopes } = cx;
  const linkId = String(q.linkId);
  if (typeof item.text === 'string' && item.text !== q.text) {
    walk.report(
      'error',
      'value',
      `If text exists, it must match the questionnaire definition for linkId '${linkId}'`,
      'text',
    );
  }
  const answers = Array.isArray(item.answer) ? (item.answer as unknown[]).filter(isObject) : [];
  const type = typeof q.type === 'string' ? q.type : '';
  if (!answers.length && q.required === true && type !== 'group' && type !== 'display' && cx.enabled) {
    walk.report(
      inProgress ? 'warning' : 'error',
      'required',
      `No response answer found for required item '${linkId}'`,
    );
  }
  if (answers.length > 1 && q.repeats !== true) {
    walk.report('error', 'structure', `Only one response answer item with linkId '${linkId}' allowed`);
  }
  if (type === 'group' && q.required === true && cx.enabled && !items(item).length) {
    walk.report(inProgress ? 'warning' : 'error', 'required', `The required group '${linkId}' has no items`);
  }
  if (type !== 'group' && type !== 'display') {
    checkOccurs(walk, q, answers.length, linkId);
    checkOptions(walk, q, answers, type === 'open-choice', all.questionnaire);
  }
  for (let j = 0; j < answers.length; j++) {
    walk.at.push('answer', j);
    checkAnswer(walk, q, type, answers[j]);
    checkItems(walk, items(q), items(answers[j]), inProgress, all, [...scopes, item, answers[j]]);
    walk.at.pop();
  }
  checkItems(walk, items(q), items(item), inProgress, all, [...scopes, item]);
}

function checkAnswer(walk: CheckContext, q: Json, type: string, answer: Json): void {
  if (type === 'group' || type === 'display') {
    walk.report('error', 'structure', `Items of type ${type} should not have answers`);
    return;
  }
  if (type === 'question') {
    walk.report('error', 'structure', 'Items of type question are abstract and cannot have answers');
    return;
  }
  const key = Object.keys(answer).find((k) => k.startsWith('value') && k.length > 5);
  const allowed = ANSWER_TYPES[type];
  if (!key || !allowed) return;
  const valueType = key.slice(5);
  if (!allowed.includes(valueType)) {
    const names = allowed.map((t) => t[0].toLowerCase() + t.slice(1));
    walk.report(
      'error',
      'structure',
      names.length === 1
        ? `Answer value must be of type ${names[0]}`
        : `Answer value must be one of the types ${names.join(', ')}`,
    );
    return;
  }
  checkAnswerConstraints(walk, q, answer);
}

function hasEnableWhen(q: Json): boolean {
  return Array.isArray(q.enableWhen) && q.enableWhen.length > 0;
}
