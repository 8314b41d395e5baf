import { compareQuantities } from '../quantity.ts';
// The constraints a Questionnaire item places on its answers (questionnaireresponse.html and the
// extension registry): length, value range, decimal places, regex, attachment size and type, number
// of answers, Quantity units, answerOption / answerValueSet membership and exclusive options.
import { type Json, isObject } from '../util.ts';
import { compareTemporal } from '../values.ts';
import type { CheckContext } from './context.ts';

const EXT = 'http://hl7.org/fhir/StructureDefinition/';
const MIN_LENGTH = `${EXT}minLength`;
const REGEX = `${EXT}regex`;
const MIN_VALUE = `${EXT}minValue`;
const MAX_VALUE = `${EXT}maxValue`;
const MAX_DECIMALS = `${EXT}maxDecimalPlaces`;
const MAX_SIZE = `${EXT}maxSize`;
const MIME_TYPE = `${EXT}mimeType`;
const MIN_OCCURS = `${EXT}questionnaire-minOccurs`;
const MAX_OCCURS = `${EXT}questionnaire-maxOccurs`;
const UNIT_OPTION = `${EXT}questionnaire-unitOption`;
const UNIT_VALUE_SET = `${EXT}questionnaire-unitValueSet`;
const OPTION_EXCLUSIVE = `${EXT}questionnaire-optionExclusive`;
const SDC = 'http://hl7.org/fhir/uv/sdc/StructureDefinition/';
const MIN_QUANTITY = [`${SDC}sdc-questionnaire-minQuantity`, MIN_VALUE];
const MAX_QUANTITY = [`${SDC}sdc-questionnaire-maxQuantity`, MAX_VALUE];

/** The extensions with `url` on a Questionnaire element. */
function extensions(node: Json, url: string): Json[] {
  return Array.isArray(node.extension)
    ? (node.extension as unknown[]).filter((e): e is Json => isObject(e) && e.url === url)
    : [];
}

/** The value[x] of the first extension with `url`. */
function extValue(node: Json, url: string): unknown {
  const e = extensions(node, url)[0];
  if (!e) return undefined;
  for (const k in e) if (k.startsWith('value') && k.length > 5) return e[k];
  return undefined;
}

/** The answer's value[x] key and value. */
export function answerValue(answer: Json): { key: string; type: string; value: unknown } | undefined {
  for (const key in answer) {
    if (!key.startsWith('value') || key.length <= 5) continue;
    const type = key.slice(5);
    // Reported as the engine reports choice elements: `value.ofType(<FHIR type code>)`.
    const code =
      type === 'Coding' || type === 'Attachment' || type === 'Quantity' || type === 'Reference'
        ? type
        : type[0]!.toLowerCase() + type.slice(1);
    return { key: `value.ofType(${code})`, type, value: answer[key] };
  }
  return undefined;
}

/** Number of answers (or repetitions of a group) against questionnaire-minOccurs / -maxOccurs. */
export function checkOccurs(ctx: CheckContext, q: Json, count: number, linkId: string): void {
  const min = extValue(q, MIN_OCCURS);
  const max = extValue(q, MAX_OCCURS);
  if (typeof min === 'number' && count > 0 && count < min) {
    ctx.report(
      'error',
      'structure',
      `Item '${linkId}': at least ${min} answers are required (found ${count}) (questionnaire-minOccurs)`,
    );
  }
  if (typeof max === 'number' && count > max) {
    ctx.report(
      'error',
      'structure',
      `Item '${linkId}': at most ${max} answers are allowed (found ${count}) (questionnaire-maxOccurs)`,
    );
  }
}

/** Every rule on one answer value; called at the answer (`...answer[j]`). */
export function checkAnswerConstraints(ctx: CheckContext, q: Json, answer: Json): void {
  const found = answerValue(answer);
  if (!found) return;
  const { key, type, value } = found;
  if (typeof value === 'string' && (type === 'String' || type === 'Uri')) checkText(ctx, q, value, key);
  if (type === 'Integer' || type === 'Decimal' || type === 'Date' || type === 'DateTime' || type === 'Time')
    checkRange(ctx, q, value, key);
  if (type === 'Decimal' && typeof value === 'number') checkDecimals(ctx, q, value, key);
  if (type === 'Attachment' && isObject(value)) checkAttachmentAnswer(ctx, q, value, key);
  if (type === 'Quantity' && isObject(value)) {
    checkUnit(ctx, q, value, key);
    checkQuantityRange(ctx, q, value, key);
  }
}

function checkText(ctx: CheckContext, q: Json, value: string, key: string): void {
  if (typeof q.maxLength === 'number' && value.length > q.maxLength) {
    ctx.report('error', 'value', `The answer is longer than the item's maxLength of ${q.maxLength}`, key);
  }
  const min = extValue(q, MIN_LENGTH);
  if (typeof min === 'number' && value.length < min) {
    ctx.report('error', 'value', `The answer is shorter than the item's minLength of ${min}`, key);
  }
  const regex = extValue(q, REGEX);
  if (typeof regex === 'string') {
    let re: RegExp | undefined;
    try {
      re = new RegExp(`^(?:${regex})$`);
    } catch {
      ctx.report('warning', 'processing', `The item's regex '${regex}' cannot be evaluated`, key);
    }
    if (re && !re.test(value)) {
      ctx.report('error', 'value', `The answer does not match the item's regex '${regex}'`, key);
    }
  }
}

/** -1 / 0 / 1 for numbers and temporal strings; undefined when not comparable. */
function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') return compareTemporal(a, b);
  return undefined;
}

function checkRange(ctx: CheckContext, q: Json, value: unknown, key: string): void {
  const min = extValue(q, MIN_VALUE);
  const max = extValue(q, MAX_VALUE);
  if (min !== undefined && compare(value, min) === -1) {
    ctx.report(
      'error',
      'value',
      `The answer ${String(value)} is below the item's minValue ${String(min)}`,
      key,
    );
  }
  if (max !== undefined && compare(value, max) === 1) {
    ctx.report(
      'error',
      'value',
      `The answer ${String(value)} is above the item's maxValue ${String(max)}`,
      key,
    );
  }
}

function checkDecimals(ctx: CheckContext, q: Json, value: number, key: string): void {
  const max = extValue(q, MAX_DECIMALS);
  if (typeof max !== 'number') return;
  const text = String(value);
  const places = text.includes('.') && !text.includes('e') ? text.length - text.indexOf('.') - 1 : 0;
  if (places > max) {
    ctx.report(
      'error',
      'value',
      `The answer has ${places} decimal places; the item's maxDecimalPlaces is ${max}`,
      key,
    );
  }
}

function checkAttachmentAnswer(ctx: CheckContext, q: Json, value: Json, key: string): void {
  const maxSize = extValue(q, MAX_SIZE);
  const size =
    typeof value.size === 'number'
      ? value.size
      : typeof value.data === 'string'
        ? Buffer.from(value.data.replace(/\s+/g, ''), 'base64').length
        : undefined;
  if (typeof maxSize === 'number' && size !== undefined && size > maxSize) {
    ctx.report('error', 'value', `The attachment is ${size} bytes; the item's maxSize is ${maxSize}`, key);
  }
  const types = extensions(q, MIME_TYPE).map((e) => e.valueCode);
  if (types.length && typeof value.contentType === 'string') {
    const bare = value.contentType.split(';')[0]!.trim();
    if (!types.includes(bare)) {
      ctx.report(
        'error',
        'value',
        `The attachment's content type '${bare}' is not one the item allows (${types.join(', ')})`,
        key,
      );
    }
  }
}

function checkUnit(ctx: CheckContext, q: Json, value: Json, key: string): void {
  const options = extensions(q, UNIT_OPTION)
    .map((e) => e.valueCoding)
    .filter(isObject);
  if (
    options.length &&
    !options.some((o) => o.code === value.code && (o.system ?? null) === (value.system ?? null))
  ) {
    ctx.report(
      'error',
      'code-invalid',
      `The unit '${String(value.code ?? value.unit ?? '')}' is not one of the item's unitOptions`,
      key,
    );
  }
  const vs = extValue(q, UNIT_VALUE_SET);
  if (typeof vs === 'string' && ctx.terminology && typeof value.code === 'string') {
    const coding = { system: typeof value.system === 'string' ? value.system : undefined, code: value.code };
    for (const i of ctx.terminology.checkCode(vs, 'required', coding)) {
      if (i.severity === 'error')
        ctx.report(
          'error',
          'code-invalid',
          `The unit '${value.code}' is not in the item's unitValueSet: ${i.message}`,
          key,
        );
    }
  }
}

/** The option an answer matches, among answerOptions of the same type. */
function matchingOption(options: Json[], type: string, value: unknown): Json | undefined {
  for (const o of options) {
    const v = o[`value${type}`];
    if (v === undefined) continue;
    if (type === 'Coding') {
      if (
        isObject(v) &&
        isObject(value) &&
        v.code === value.code &&
        (v.system ?? null) === (value.system ?? null)
      )
        return o;
    } else if (v === value) return o;
  }
  return undefined;
}

/**
 * answerOption (every item type: integer, date, time, string, coding), answerValueSet (Coding answers)
 * and optionExclusive across the item's answers. `open` items accept non-Coding free answers.
 */
export function checkOptions(
  ctx: CheckContext,
  q: Json,
  answers: Json[],
  open: boolean,
  questionnaire: Json,
): void {
  const options = Array.isArray(q.answerOption) ? (q.answerOption as unknown[]).filter(isObject) : [];
  const vs = typeof q.answerValueSet === 'string' ? q.answerValueSet : undefined;
  const exclusive: number[] = [];
  for (let j = 0; j < answers.length; j++) {
    const found = answerValue(answers[j]);
    if (!found) continue;
    ctx.at.push('answer', j);
    if (options.length) {
      const sameType = options.some((o) => o[`value${found.type}`] !== undefined);
      const match = matchingOption(options, found.type, found.value);
      if (match && extValue(match, OPTION_EXCLUSIVE) === true) exclusive.push(j);
      if (!match && sameType && !(open && found.type !== 'Coding')) {
        const shown = isObject(found.value)
          ? `${found.value.system ?? ''}::${found.value.code ?? ''}`
          : String(found.value);
        ctx.report(
          'error',
          'code-invalid',
          `The ${found.type.toLowerCase()} '${shown}' is not a valid option`,
        );
      } else if (!match && !sameType && !open && options.length) {
        ctx.report(
          'error',
          'structure',
          `The answer's type (${found.type}) is not the type of the item's answerOptions`,
        );
      }
    } else if (vs && found.type === 'Coding' && isObject(found.value) && ctx.terminology) {
      const c = found.value;
      const coding = {
        system: typeof c.system === 'string' ? c.system : undefined,
        code: typeof c.code === 'string' ? c.code : undefined,
        display: typeof c.display === 'string' ? c.display : undefined,
      };
      if (vs.startsWith('#')) checkContainedCoding(ctx, questionnaire, vs, coding, open, found.key);
      else
        for (const i of ctx.terminology.checkCode(vs, open ? 'extensible' : 'required', coding))
          ctx.report(i.severity, i.code, `answerValueSet: ${i.message}`, found.key);
    } else if (vs && !open && Object.hasOwn(UNCODED, found.type)) {
      checkUncodedAnswer(ctx, questionnaire, vs, found);
    }
    ctx.at.pop();
  }
  if (exclusive.length && answers.length > 1) {
    ctx.at.push('answer', exclusive[0]!);
    ctx.report('error', 'structure', 'optionExclusive: this answer excludes every other answer to the item');
    ctx.at.pop();
  }
}

/** Quantity answers against sdc-questionnaire-min/maxQuantity (or min/maxValue as a Quantity), compared after UCUM conversion. */
function checkQuantityRange(ctx: CheckContext, q: Json, value: Json, key: string): void {
  const bound = (urls: string[]) => urls.map((u) => extValue(q, u)).find(isObject);
  const show = (v: Json) => `${String(v.value)} ${String(v.code ?? v.unit ?? '')}`.trim();
  const min = bound(MIN_QUANTITY);
  const max = bound(MAX_QUANTITY);
  if (min && compareQuantities(value, min) === -1) {
    ctx.report('error', 'value', `The answer ${show(value)} is below the item's minimum ${show(min)}`, key);
  }
  if (max && compareQuantities(value, max) === 1) {
    ctx.report('error', 'value', `The answer ${show(value)} is above the item's maximum ${show(max)}`, key);
  }
}

/** Answer types compared with the codes of an answerValueSet as their literal text (FHIR type name). */
const UNCODED: Record<string, string> = { String: 'string', Integer: 'integer', Date: 'date', Time: 'time' };

/**
 * An answerValueSet `#id` names a ValueSet contained in the Questionnaire, or, for a Questionnaire
 * contained in the response, one beside it there.
 */
function answerValueSet(ctx: CheckContext, questionnaire: Json, ref: string): string | Json | undefined {
  if (!ref.startsWith('#')) return ref;
  const id = ref.slice(1);
  const own = Array.isArray(questionnaire.contained) ? questionnaire.contained : [];
  const found = own.find((c): c is Json => isObject(c) && c.resourceType === 'ValueSet' && c.id === id);
  if (found) return found;
  const beside = ctx.containers[ctx.containers.length - 1]?.get(id);
  return beside?.resourceType === 'ValueSet' ? beside : undefined;
}

/**
 * A Coding answer against a contained answerValueSet: an error when the ValueSet's members are all
 * known and the Coding is not one of them (a warning for open-choice), as the HL7 validator's check.
 * A Coding without a system is in no ValueSet, whatever its code.
 */
function checkContainedCoding(
  ctx: CheckContext,
  questionnaire: Json,
  ref: string,
  coding: { system?: string; code?: string },
  open: boolean,
  key: string,
): void {
  if (typeof coding.code !== 'string') return;
  const target = answerValueSet(ctx, questionnaire, ref);
  if (!target) {
    ctx.report(
      'warning',
      'not-found',
      `answerValueSet: the contained ValueSet '${ref}' could not be found, so the answer was not checked`,
      key,
    );
    return;
  }
  const members = ctx.terminology?.members(target);
  if (!members || (coding.system !== undefined && members.has(coding.system, coding.code))) return;
  ctx.report(
    open ? 'warning' : 'error',
    'code-invalid',
    `answerValueSet: the Coding '${coding.system ?? ''}#${coding.code}' is not in the item's answerValueSet '${ref}'`,
    key,
  );
}

/**
 * A string, integer, date or time answer to an item with an answerValueSet: its text should be a code
 * of that ValueSet. The HL7 validator checks answerValueSet only for Coding answers, so this is a
 * warning (never a rejection), and only when the ValueSet's members can all be enumerated offline.
 */
function checkUncodedAnswer(
  ctx: CheckContext,
  questionnaire: Json,
  ref: string,
  found: { key: string; type: string; value: unknown },
): void {
  const value = found.value;
  if (typeof value !== 'string' && typeof value !== 'number') return;
  const target = answerValueSet(ctx, questionnaire, ref);
  const members = target !== undefined ? ctx.terminology?.members(target) : undefined;
  if (!members || members.has(undefined, String(value))) return;
  ctx.report(
    'warning',
    'code-invalid',
    `answerValueSet: the ${UNCODED[found.type]} answer '${String(value)}' is not a code in the item's answerValueSet '${ref}'`,
    found.key,
  );
}
