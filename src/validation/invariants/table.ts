// How each constraint key is evaluated: the one table. A key not listed here is evaluated by
// fhirpath.js on its published expression (after the shortcut glance of shortcut.ts, which only ever
// skips evaluations that are certainly true).
import {
  type FastPath,
  type NativeCheck,
  type NativeFailures,
  fastPaths,
  nativeChecks,
  nativeFailures,
} from './native.ts';
import { projectFastPaths } from './project.ts';

export type Evaluation =
  /** The engine checks it while walking (bdl-3, bdl-7: Bundle entries; ref-1: local references); never compiled. */
  | { by: 'engine'; where: string }
  /**
   * Code instead of the published expression, for core constraints (fhirpath.js is slow or wrong on
   * it); `failures` says where below the node it fails, when that is where it is reported (dom-3).
   */
  | { by: 'native'; check: NativeCheck; failures?: NativeFailures }
  /** Code answers the plain cases of a core constraint; fhirpath.js the published expression otherwise. */
  | { by: 'fast'; fast: FastPath }
  /** Code (calling the domain rule) answers the plain cases of our own profiles' invariant; fhirpath.js the FSH text otherwise. */
  | { by: 'project'; fast: FastPath }
  /**
   * fhirpath.js on the expression the HL7 validator evaluates instead of a published one that is
   * wrong; only when the published text is one of `published` (a profile reusing the key keeps its own).
   */
  | { by: 'corrected'; published: string[]; expression: string };

// `[A-Z]([A-Za-z0-9_]){0,254}` unanchored matches any name containing a capital; the HL7 validator
// anchors it and lets an absent name pass.
const NAME_PUBLISHED = "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')";
const NAME_CORRECTED = "name.exists() implies name.matches('^[A-Z]([A-Za-z0-9_]){0,254}$')";
const NAME_KEYS =
  'adf cid cmd cpb cpd csd esc ees evd evi evv gdf ig inv lib mea msd nsd opd pdf que red rsd rvs sdf smp spd tcp tst vsd'
    .split(' ')
    .map((prefix) => `${prefix}-0`);

const corrected: Record<string, Evaluation> = {
  // "more than one" enableWhen needs enableBehavior; the published text says "> 2".
  'que-12': {
    by: 'corrected',
    published: ['enableWhen.count() > 2 implies enableBehavior.exists()'],
    expression: 'enableWhen.count() >= 2 implies enableBehavior.exists()',
  },
  // `Boolean` is System.Boolean to fhirpath.js, which FHIR's boolean answer is not.
  'que-7': {
    by: 'corrected',
    published: ["operator = 'exists' implies (answer is Boolean)"],
    expression: "operator = 'exists' implies (answer is boolean)",
  },
  // `as` on a Range probability errors instead of passing.
  'ras-2': {
    by: 'corrected',
    published: [
      'probability is decimal implies (probability as decimal) <= 100',
      'probability is decimal implies probability.as(decimal) <= 100',
    ],
    expression:
      '(probability.exists() and (probability is decimal)) implies ((probability as decimal) <= 100)',
  },
  // The next three are already corrected in the R4 definitions we ship; other R4 packages carry the
  // published text.
  'eld-18': {
    by: 'corrected',
    published: ['isModifier implies isModifierReason.exists()'],
    expression: '(isModifier.exists() and isModifier) implies isModifierReason.exists()',
  },
  'sdf-16': {
    by: 'corrected',
    published: ["snapshot.element.all(id) and snapshot.element.id.trace('ids').isDistinct()"],
    expression: "snapshot.element.all(id.exists()) and snapshot.element.id.trace('ids').isDistinct()",
  },
  'sdf-17': {
    by: 'corrected',
    published: ["differential.element.all(id) and differential.element.id.trace('ids').isDistinct()"],
    expression: "differential.element.all(id.exists()) and differential.element.id.trace('ids').isDistinct()",
  },
};
for (const key of NAME_KEYS)
  corrected[key] = { by: 'corrected', published: [NAME_PUBLISHED], expression: NAME_CORRECTED };

function rows<T extends Evaluation>(
  source: Record<string, unknown>,
  make: (v: never) => T,
): Record<string, T> {
  return Object.fromEntries(Object.entries(source).map(([k, v]) => [k, make(v as never)]));
}

export const INVARIANTS: Readonly<Record<string, Evaluation>> = {
  'bdl-3': { by: 'engine', where: 'walk: Bundle entries' },
  'bdl-7': { by: 'engine', where: 'walk: Bundle entries' },
  'ref-1': { by: 'engine', where: 'checks: references' },
  ...Object.fromEntries(
    Object.entries(nativeChecks).map(([key, check]): [string, Evaluation] => [
      key,
      { by: 'native', check, failures: nativeFailures[key] },
    ]),
  ),
  ...rows(fastPaths, (fast: FastPath) => ({ by: 'fast', fast })),
  ...rows(projectFastPaths, (fast: FastPath) => ({ by: 'project', fast })),
  ...corrected,
};

/** True for a key the engine checks itself (the structure compiles no invariant for it). */
export function isEngineChecked(key: string): boolean {
  return INVARIANTS[key]?.by === 'engine';
}
