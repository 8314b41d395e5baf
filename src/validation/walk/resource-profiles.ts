// Which definitions a resource is walked against: the explicit profiles and its meta.profile claims
// that resolve (their snapshots include the base rules), else its base definition. Unresolvable or
// misapplied profiles are reported here, as the HL7 validator reports them.
import type { ImplementationGuide } from '@medplum/fhirtypes';
import type { CheckContext } from '../checks/context.ts';
import type { CompiledStructure } from '../compiled.ts';
import type { Registry } from '../registry.ts';
import { type Json, isObject, withArticle } from '../util.ts';

const globalsByRegistry = new WeakMap<Registry, Map<string, string[]>>();

/** Resource type → the `global` profiles of the loaded ImplementationGuides (they apply to every such resource). */
function globalProfiles(registry: Registry): Map<string, string[]> {
  let map = globalsByRegistry.get(registry);
  if (map) return map;
  map = new Map();
  for (const ig of registry.all<ImplementationGuide>('ImplementationGuide')) {
    for (const g of ig.global ?? []) {
      if (!g.type || !g.profile) continue;
      const list = map.get(g.type) ?? [];
      if (!list.includes(g.profile)) list.push(g.profile);
      map.set(g.type, list);
    }
  }
  globalsByRegistry.set(registry, map);
  return map;
}

const LOINC = 'http://loinc.org';
const SCT = 'http://snomed.info/sct';

/**
 * The R4 vital-signs profiles an Observation must conform to by its code, whatever its meta.profile
 * says (observation-vitalsigns.html), with the codes and in the order the HL7 validator checks them
 * (its ObservationValidator): the first entry with a coding in `code` applies.
 */
const VITAL_SIGNS: Array<[system: string, profile: string, codes: string[]]> = [
  [LOINC, 'vitalspanel', ['85353-1']],
  [
    LOINC,
    'resprate',
    ['9279-1', '76170-0', '76172-6', '76171-8', '19840-8', '33438-3', '76270-8', '11291-2'],
  ],
  [
    LOINC,
    'heartrate',
    [
      '60978-4',
      '73795-7',
      '73799-9',
      '76476-1',
      '76477-9',
      '8867-4',
      '8889-8',
      '8890-6',
      '8891-4',
      '8892-2',
    ].concat(['8893-0', '40443-4', '55425-3', '68999-2', '11328-2', '69000-8', '8886-4']),
  ],
  [
    LOINC,
    'oxygensat',
    [
      '2708-6',
      '19224-5',
      '20564-1',
      '2709-4',
      '2710-2',
      '2711-0',
      '2713-6',
      '51733-4',
      '59408-5',
      '59417-6',
    ].concat(['89276-0', '97549-0']),
  ],
  [
    LOINC,
    'bodytemp',
    [
      '8310-5',
      '60834-9',
      '60835-6',
      '60836-4',
      '60838-0',
      '60955-2',
      '61009-7',
      '75539-7',
      '75987-8',
      '76010-8',
    ]
      .concat(['76011-6', '76278-1', '8309-7', '8328-7', '8329-5', '8330-3', '8331-1', '8332-9', '8333-7'])
      .concat(['8334-5', '91371-5', '98657-0', '98663-8']),
  ],
  [LOINC, 'bodyheight', ['8302-2', '3137-7', '3138-5', '8306-3', '8308-9']],
  [LOINC, 'headcircum', ['9843-4', '8287-5']],
  [LOINC, 'bodyweight', ['29463-7', '3141-9', '3142-7', '75292-3', '79348-9', '8350-1', '8351-9']],
  [LOINC, 'bmi', ['39156-5', '59574-4', '89270-3']],
  [LOINC, 'bp', ['85354-9', '35094-2', '8459-0', '76534-7', '55284-4', '8480-6']],
  [SCT, 'vitalspanel', ['46680005']],
  // The HL7 validator names no profile for these respiratory-rate codes, so nothing applies.
  [SCT, '', ['86290005', '271625008', '271306003']],
  [
    SCT,
    'heartrate',
    ['271306003', '249043002', '444981005', '399017001', '251670001', '429525003', '429614003'],
  ],
  [
    SCT,
    'oxygensat',
    ['103228002', '442349007', '442476006', '442440005', '431314004', '442734002', '713194001'],
  ],
  [
    SCT,
    'bodytemp',
    [
      '386725007',
      '276885007',
      '300076005',
      '1222808002',
      '364246006',
      '307047009',
      '708499008',
      '431598003',
    ].concat(['698831002', '698832009', '415882003', '415974002', '415929009', '415945006']),
  ],
  [
    SCT,
    'bodyheight',
    ['1153637007', '1162419008', '50373000', '1162418000', '1230278008', '1162392001', '1162417005'],
  ],
  [SCT, 'headcircum', ['363812007', '169876006', '1269262007', '363811000']],
  [
    SCT,
    'bodyweight',
    ['363811000', '60621009', '735395000', '425024002', '424927000', '784399000', '1162416001', '1162415002'],
  ],
  [SCT, 'bmi', ['60621009']],
  [
    SCT,
    'bp',
    [
      '75367002',
      '251076008',
      '163033001',
      '163035008',
      '386534000',
      '386536003',
      '271649006',
      '271650006',
    ].concat(['407556006', '407554009', '716579001', '399304008']),
  ],
];

/** `system|code` → index of its first VITAL_SIGNS entry (the HL7 validator's order decides between codings). */
const VITAL_SIGNS_INDEX = new Map<string, number>();
VITAL_SIGNS.forEach(([system, , codes], i) => {
  for (const code of codes)
    if (!VITAL_SIGNS_INDEX.has(`${system}|${code}`)) VITAL_SIGNS_INDEX.set(`${system}|${code}`, i);
});

function vitalSignsProfile(obs: Json): string | undefined {
  const code = obs.code;
  if (!isObject(code) || !Array.isArray(code.coding)) return undefined;
  let first = Number.POSITIVE_INFINITY;
  for (const c of code.coding) {
    if (!isObject(c) || (c.system !== LOINC && c.system !== SCT)) continue;
    const i = VITAL_SIGNS_INDEX.get(`${c.system}|${c.code}`);
    if (i !== undefined && i < first) first = i;
  }
  const profile = Number.isFinite(first) ? VITAL_SIGNS[first]![1] : '';
  return profile ? `http://hl7.org/fhir/StructureDefinition/${profile}` : undefined;
}

const NONE: readonly string[] = [];

/** A profile that applies without being claimed (IG global, vital signs), when it resolves. */
function addImplied(ctx: CheckContext, structures: CompiledStructure[], url: string, rt: string): void {
  const p = ctx.compiler.structure(url);
  if (p && p.type === rt && !p.base && !structures.includes(p)) structures.push(p);
}

export function resourceProfiles(
  ctx: CheckContext,
  value: Json,
  rt: string,
  explicitProfiles: string[],
): CompiledStructure[] | undefined {
  const base = ctx.compiler.typeStructure(rt);
  if (!base) return undefined;
  const structures: CompiledStructure[] = [];
  const meta = value.meta;
  const claimed = isObject(meta) && Array.isArray(meta.profile) ? (meta.profile as unknown[]) : [];
  const wanted = explicitProfiles.length ? [...explicitProfiles, ...claimed] : claimed;
  for (let i = 0; i < wanted.length; i++) {
    const url = wanted[i];
    if (typeof url !== 'string') continue;
    const fromMeta = i >= explicitProfiles.length;
    const where = fromMeta ? `meta.profile[${i - explicitProfiles.length}]` : undefined;
    const held = ctx.compiler.registry.holdsVersion(url);
    const p = held ? ctx.compiler.structure(url) : undefined;
    if (!p && held && ctx.compiler.registry.structureDefinition(url)) {
      // A differential-only definition the simple snapshot generator cannot handle.
      ctx.report(
        'warning',
        'not-supported',
        `Profile '${url}' has no snapshot, so it has not been checked`,
        where,
      );
    } else if (!p) {
      ctx.report(
        fromMeta ? 'warning' : 'error',
        fromMeta ? 'informational' : 'not-found',
        `Profile reference '${url}' has not been checked because it could not be found`,
        where,
      );
    } else if (p.type !== rt || p.kind !== 'resource') {
      ctx.report(
        'error',
        'invalid',
        `Profile '${url}' is for type '${p.type}' and cannot apply to ${withArticle(String(rt))}`,
      );
    } else if (!p.base && !structures.includes(p)) {
      structures.push(p);
    }
  }
  const implied = rt === 'Observation' ? vitalSignsProfile(value) : undefined;
  for (const url of globalProfiles(ctx.compiler.registry).get(rt) ?? NONE)
    addImplied(ctx, structures, url, rt);
  if (implied) addImplied(ctx, structures, implied, rt);
  if (!structures.length) structures.push(base);
  return structures;
}
