// A type's searchParam in the CapabilityStatement: its indexed parameters (the table the search runs
// on, `searchParamsByType`), with the modifiers the store's search takes for each kind of parameter,
// reverse chaining (`_has`) over the reference parameters that can point at the type, and the result
// parameters every search takes.
import type { CapabilityStatementRestResourceSearchParam } from '@medplum/fhirtypes';
import type { SearchParamInfo } from '../resource-types.ts';
import { SUMMARY_MODES } from './shaping.ts';

/** The result parameters every type's search takes (listed with its searchParam, as servers do). */
const RESULT_PARAMETERS: CapabilityStatementRestResourceSearchParam[] = [
  {
    name: '_count',
    type: 'number',
    documentation: 'Page size (at most 1000: a larger number is taken as 1000)',
  },
  {
    name: '_offset',
    type: 'number',
    documentation:
      'Matches to skip before the first page; a page links only self and next, and next goes on by _cursor',
  },
  {
    name: '_cursor',
    type: 'string',
    documentation: 'Opaque position of a next link (keyset paging); not made by clients',
  },
  {
    name: '_sort',
    type: 'string',
    documentation:
      '_lastUpdated (the default), a date parameter of the type (date, birthdate, authored) or a number parameter (value-integer); - for descending; several keys comma-separated',
  },
  { name: '_total', type: 'token', documentation: 'none | estimate | accurate' },
  { name: '_summary', type: 'token', documentation: SUMMARY_MODES.join(' | ') },
  { name: '_elements', type: 'string', documentation: 'Comma-separated top-level elements' },
];

/**
 * The modifiers the store's search (`paramClause`, `idClause` in src/store/search.ts) takes for each
 * kind of parameter; any other is a 400 naming the parameter.
 */
const MODIFIERS: Record<SearchParamInfo['type'], string> = {
  token:
    ':missing=true|false (no value indexed, or some); :not (no value matches, which a resource without a value also satisfies)',
  string: ':missing=true|false; :exact (the whole value); :contains (anywhere in it)',
  reference:
    ':missing=true|false; :[Type] (the target type); :identifier=system|value (a logical reference, Reference.identifier)',
  date: ':missing=true|false',
  number: ':missing=true|false',
};

function indexedParam(p: SearchParamInfo): CapabilityStatementRestResourceSearchParam {
  // The example names a type the search takes (`targets` are the served ones, `servedTargets`).
  const target = p.targets?.[0];
  const chains =
    p.type === 'reference' && target
      ? ` Chains one level to an indexed parameter of the target, e.g. ${p.code}:${target}.identifier=system|value; _include/_revinclude (with :iterate).`
      : '';
  return {
    name: p.code,
    type: p.type,
    definition: p.definition,
    documentation: `${p.documentation ?? ''}${chains} Modifiers: ${MODIFIERS[p.type]}.`.trim(),
  };
}

/** `_has` on a type that `revRefs` (`Source:param`, reference parameters that can point at it) name. */
function reverseChain(type: string, revRefs: string[]): CapabilityStatementRestResourceSearchParam[] {
  if (!revRefs.length) return [];
  return [
    {
      name: '_has',
      type: 'special',
      documentation: `Reverse chaining, one level: _has:Source:param:parameter[:modifier]=value matches a ${type} that a current Source refers to through param, where that Source matches parameter (an indexed parameter of Source, not _id or _lastUpdated). Source:param is one of ${revRefs.join(', ')}.`,
    },
  ];
}

/** The searchParam of `type`: `params` (its indexed ones), `_has` over `revRefs`, the result parameters. */
export function typeSearchParams(
  type: string,
  params: ReadonlyMap<string, SearchParamInfo> | undefined,
  revRefs: string[],
): CapabilityStatementRestResourceSearchParam[] {
  return [
    ...[...(params?.values() ?? [])].map(indexedParam),
    ...reverseChain(type, revRefs),
    ...RESULT_PARAMETERS,
  ];
}
