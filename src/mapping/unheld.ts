/**
 * What the profiles allow and the domain cannot hold, element by element — the one table of it.
 * An element whose loss would change what the record says (a negation, a state of the record, when,
 * to whom or how urgently something is to be done, what a goal aims at) is refused at the element,
 * rather than read without it and written back saying otherwise; an element that only adds to what
 * the domain holds (free text, links to what the domain does not hold) is knowingly dropped, and
 * docs/sdk.md lists it. A modifier the reader does not understand — a `modifierExtension` at any
 * depth, `implicitRules` — is refused wherever it is: FHIR forbids processing a resource carrying one.
 * `fromFhir` checks every resource it reads (`unheldElement`), `consentDefect` a Consent for both readers.
 * Stored data read back for a view (`fromFhir`'s `unheld` option) is read without each of them
 * instead, and each is reported (`unheldElements`, with `readBack`, what the view says of it).
 */
import type { Reference } from '@medplum/fhirtypes';
import type { FhirKind } from './config.ts';
import { isRedactedLabel, isRestrictedLabel } from './non-disclosure.ts';
import { type ReferenceOptions, namesOwnClient, typeOfReference } from './own-client.ts';

/** One element of the table. */
export interface UnheldElement {
  /**
   * The element under the resource: names joined by dots, each list walked item by item, a choice
   * `name[x]` matching each of its types (`deceased[x]`: `deceasedBoolean`, `deceasedDateTime`).
   */
  path: string;
  /** `refused` at the element, or `dropped` (read without it; docs/sdk.md lists it). */
  held: 'refused' | 'dropped';
  /** What it says, as a refusal names it. */
  what: string;
  /** Refuse only a value this holds of (default: any value); `held` reads references in the resource. */
  when?: (value: unknown, held: HeldContext) => boolean;
}

/** What a row's `when` may ask of a reference in the resource being read. */
export interface HeldContext {
  /** Whether the reference names the resource's own client (Consent.patient, Goal.subject). */
  ownClient: (ref: unknown) => boolean;
  /** The resource type the reference names or resolves to, if it can be told. */
  typeOf: (ref: unknown) => string | undefined;
}

/** Patient.link types that only point to another record of the client (dropped); any other is refused. */
const LINKS_THAT_REFER: readonly unknown[] = ['refer', 'seealso'];
const isTrue = (v: unknown) => v === true;
const isFalse = (v: unknown) => v === false;

const isLabel = (test: (label: { system?: unknown; code?: unknown }) => boolean) => (v: unknown) =>
  typeof v === 'object' && v !== null && test(v as { system?: unknown; code?: unknown });

/**
 * The rows of every kind, before its own: the security labels the domain holds nothing of — read
 * without them, the resource would be written back unrestricted, or a redacted copy as the whole. The
 * FI Base turvakielto label of a Patient is the client's `nonDisclosure`, read by the client's reader.
 */
export const EVERY_KIND: readonly UnheldElement[] = [
  {
    path: 'meta.security',
    held: 'refused',
    when: isLabel(isRestrictedLabel),
    what: 'a restriction of whom the resource may reach (meta.security v3 Confidentiality R; the domain holds none)',
  },
  {
    path: 'meta.security',
    held: 'refused',
    when: isLabel(isRedactedLabel),
    what: 'a copy with details removed for its reader (meta.security REDACTED; written back, they would read as absent)',
  },
];

/** The table, by the kind of resource (FhirKind); `EVERY_KIND`'s rows come first for each. */
export const ELEMENTS: Partial<Record<FhirKind, readonly UnheldElement[]>> = {
  client: [
    {
      path: 'active',
      held: 'refused',
      when: isFalse,
      what: 'a client record no longer in use (active false)',
    },
    {
      path: 'deceased[x]',
      held: 'refused',
      when: (v) => v !== false,
      what: 'a client who has died (deceased[x])',
    },
    {
      path: 'link',
      held: 'refused',
      when: (v) => !LINKS_THAT_REFER.includes((v as { type?: unknown })?.type),
      what: 'a record of the client that replaces this one or that this one replaces (link: replaced-by, replaces)',
    },
    {
      path: 'link',
      held: 'dropped',
      what: 'a link to another record of the same client that only refers to it (link: refer, seealso)',
    },
  ],
  organization: [
    {
      path: 'active',
      held: 'refused',
      when: isFalse,
      what: 'an organisation no longer active (active false)',
    },
  ],
  goal: [
    { path: 'target.measure', held: 'refused', what: 'what a goal target measures (measure)' },
    {
      path: 'target.detail[x]',
      held: 'refused',
      what: 'the value a goal targets (detail[x]; the domain holds a due date)',
    },
    {
      path: 'target.dueDuration',
      held: 'refused',
      what: 'a goal due within a duration (dueDuration; the domain holds a due date)',
    },
    { path: 'outcomeReference', held: 'refused', what: 'what came of a goal (outcomeReference)' },
    {
      path: 'expressedBy',
      held: 'refused',
      // The client is `expressedBy: 'client'`, a PractitionerRole a professional's id (readGoal).
      when: (v, held) => !held.ownClient(v) && held.typeOf(v) !== 'PractitionerRole',
      what: "a goal set by another than its client or a professional (expressedBy naming other than Goal.subject or a PractitionerRole; the domain holds the client or a professional's id)",
    },
    { path: 'statusReason', held: 'dropped', what: "the reason for a goal's state, as free text" },
  ],
  consent: [
    {
      path: 'performer',
      held: 'refused',
      // The client as performer says what the domain holds: she gave the consent (toFhir writes so).
      when: (v, held) => !held.ownClient(v),
      what: 'a consent given by another than its client, such as a guardian or an organisation (performer naming other than Consent.patient)',
    },
    {
      path: 'verification.verified',
      held: 'refused',
      when: isFalse,
      what: 'a consent not verified with the client (verification.verified false)',
    },
    {
      path: 'source[x]',
      held: 'refused',
      what: 'the document or record the consent is given in (source[x])',
    },
  ],
  plan: [
    {
      path: 'activity.detail.doNotPerform',
      held: 'refused',
      when: isTrue,
      what: 'an activity not to be done (doNotPerform)',
    },
    {
      path: 'activity.detail.scheduledTiming.event',
      held: 'refused',
      what: "an activity's dates (Timing.event; the domain's schedule is days a week between bounds)",
    },
    ...['count', 'countMax'].map((name) => ({
      path: `activity.detail.scheduledTiming.repeat.${name}`,
      held: 'refused' as const,
      what: 'how many times in all an activity is done (repeat.count, countMax)',
    })),
    {
      path: 'activity.detail.scheduledTiming.repeat.periodMax',
      held: 'refused',
      what: "a range of an activity's period (repeat.periodMax; daysPerWeek is a week's)",
    },
    ...['duration', 'durationMax'].map((name) => ({
      path: `activity.detail.scheduledTiming.repeat.${name}`,
      held: 'refused' as const,
      what: 'how long each time of an activity lasts (repeat.duration, durationMax)',
    })),
    {
      path: 'activity.reference',
      held: 'refused',
      // A referral (ServiceRequest) is one of the plan's referrals (referralIds, readPlan).
      when: (v, held) => held.typeOf(v) !== 'ServiceRequest',
      what: "an activity given as a reference to another resource than a referral, or to one it cannot tell (activity.reference; the domain's activities are activity.detail, its referrals referralIds)",
    },
    { path: 'description', held: 'dropped', what: "the plan's summary" },
    { path: 'note', held: 'dropped', what: 'notes on the plan' },
    { path: 'addresses', held: 'dropped', what: 'the health concerns the plan addresses' },
    { path: 'replaces', held: 'dropped', what: 'the plan this one replaces' },
    { path: 'activity.progress', held: 'dropped', what: 'notes on how an activity went' },
    { path: 'activity.detail.location', held: 'dropped', what: 'where an activity takes place' },
    { path: 'activity.detail.goal', held: 'dropped', what: 'the goals an activity serves' },
    {
      path: 'activity.detail.scheduledTiming.repeat.dayOfWeek',
      held: 'dropped',
      what: 'the days of the week of an activity (the domain holds how many: frequency)',
    },
  ],
  referral: [
    {
      path: 'doNotPerform',
      held: 'refused',
      when: isTrue,
      what: 'a referral saying the service is not to be given (doNotPerform)',
    },
    { path: 'occurrence[x]', held: 'refused', what: 'when the service is to be given (occurrence[x])' },
    { path: 'performer', held: 'refused', what: 'whom the referral is addressed to (performer)' },
    {
      path: 'performerType',
      held: 'refused',
      what: 'what kind of worker the referral is addressed to (performerType)',
    },
    { path: 'quantity[x]', held: 'refused', what: 'how much of the service is asked for (quantity[x])' },
    {
      path: 'priority',
      held: 'refused',
      when: (v) => v !== 'routine',
      what: 'an urgent referral (priority other than routine)',
    },
    {
      path: 'reasonReference',
      held: 'refused',
      what: 'reasons given as references (reasonReference; the domain reads the triggers in reasonCode)',
    },
  ],
  team: [
    { path: 'managingOrganization', held: 'dropped', what: 'the organisation managing the team' },
    { path: 'participant.onBehalfOf', held: 'dropped', what: 'the organisation a member acts for' },
  ],
};

const UNHELD =
  'has no domain field: read without it, the record would be written back saying otherwise (docs/sdk.md)';
const UNHELD_READ_BACK =
  'has no domain field: read back without it, the object does not say all the resource says (docs/sdk.md)';

const MODIFIER_EXTENSION =
  'a modifier extension the reader does not understand: it may change what the element holding it means, and FHIR forbids processing a resource that carries one (docs/sdk.md)';
const MODIFIER_EXTENSION_READ_BACK =
  'a modifier extension the reader does not understand: read back without it, the object may not say what the resource means (docs/sdk.md)';

const IMPLICIT_RULES =
  'rules the reader does not know (implicitRules) may change what the resource means, and FHIR forbids processing a resource that carries them (docs/sdk.md)';
const IMPLICIT_RULES_READ_BACK =
  'rules the reader does not know (implicitRules): read back without them, the object may not say what the resource means (docs/sdk.md)';

/**
 * An element the reader does not read `resource` with: relative to the resource, why it is refused as
 * input (`message`), and what an object read back without it (stored data, for a view) lacks (`readBack`).
 */
export interface Unheld {
  element: string;
  message: string;
  readBack: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const present = (v: unknown) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
const join = (at: string, name: string) => (at ? `${at}.${name}` : name);

/** The keys of `node` that the name `name` (a choice `x[x]` matches each of its types) names. */
function keysOf(node: Json, name: string): string[] {
  if (!name.endsWith('[x]')) return [name];
  const stem = name.slice(0, -3);
  return Object.keys(node).filter((k) => k.startsWith(stem) && /^[A-Z]/.test(k.slice(stem.length)));
}

/**
 * The paths (under `at`) of the values at `names` under `node` that `when` holds of, in order: each
 * list walked item by item, an item named by its index. JSON of another shape is passed over (not read).
 */
function* pathsAt(
  node: unknown,
  names: readonly string[],
  at: string,
  when: (v: unknown) => boolean,
): Generator<string> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* pathsAt(item, names, `${at}[${i}]`, when);
    return;
  }
  if (names.length === 0) {
    if (present(node) && when(node)) yield at;
    return;
  }
  if (!isObject(node)) return;
  const [name, ...rest] = names;
  for (const key of keysOf(node, name!)) yield* pathsAt(node[key], rest, join(at, key), when);
}

/** The paths (under `at`) of the modifier extensions anywhere under `node`, in order. */
function* modifiersAt(node: unknown, at: string): Generator<string> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* modifiersAt(item, `${at}[${i}]`);
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    const here = join(at, key);
    if (key === 'modifierExtension' && present(value)) yield Array.isArray(value) ? `${here}[0]` : here;
    else yield* modifiersAt(value, here);
  }
}

/**
 * Each element the reader does not read `resource` (of `kind`) with, in order: `implicitRules`, each
 * modifier extension, then each element the table refuses (the table's order, each in document order).
 * `opts` (the reader's resolver and local-id systems) tell what a reference in it names.
 */
export function* unheldElements(
  kind: FhirKind,
  resource: unknown,
  opts: ReferenceOptions = {},
): Generator<Unheld> {
  const held: HeldContext = {
    ownClient: (ref) => namesOwnClient(kind, resource, ref, opts),
    typeOf: (ref) => (isObject(ref) ? typeOfReference(ref as Reference, opts) : undefined),
  };
  if (isObject(resource) && present(resource.implicitRules))
    yield { element: 'implicitRules', message: IMPLICIT_RULES, readBack: IMPLICIT_RULES_READ_BACK };
  for (const element of modifiersAt(resource, ''))
    yield { element, message: MODIFIER_EXTENSION, readBack: MODIFIER_EXTENSION_READ_BACK };
  for (const e of [...EVERY_KIND, ...(ELEMENTS[kind] ?? [])]) {
    if (e.held !== 'refused') continue;
    const when = e.when;
    const holds = when ? (v: unknown) => when(v, held) : () => true;
    for (const element of pathsAt(resource, e.path.split('.'), '', holds))
      yield { element, message: `${e.what} ${UNHELD}`, readBack: `${e.what} ${UNHELD_READ_BACK}` };
  }
}

/**
 * Why the reader does not read `resource` (of `kind`): the first element it does not read it with,
 * relative to the resource — a modifier it does not understand, or an element the table refuses — and
 * the message; or undefined.
 */
export function unheldElement(
  kind: FhirKind,
  resource: unknown,
  opts: ReferenceOptions = {},
): Unheld | undefined {
  for (const found of unheldElements(kind, resource, opts)) return found;
  return undefined;
}
