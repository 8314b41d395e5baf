import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceInteraction,
} from '@medplum/fhirtypes';
import { readProjectJson } from '../../shared/project-files.ts';
import { SUPPORTED_TYPES, searchParamsByType } from '../resource-types.ts';

/** The type-level interactions the router implements (kept here so metadata cannot drift from routes). */
export const TYPE_INTERACTIONS: CapabilityStatementRestResourceInteraction['code'][] = [
  'read',
  'vread',
  'update',
  'delete',
  'history-instance',
  'create',
  'search-type',
];
export const SYSTEM_INTERACTIONS = ['transaction', 'batch'] as const;
export const FORMATS = ['application/fhir+json', 'application/json', 'json'];

const VALIDATE_OPERATION = 'http://hl7.org/fhir/OperationDefinition/Resource-validate';

let version: string | undefined;
function packageVersion(): string {
  version ??= readProjectJson<{ version: string }>('package.json').version;
  return version;
}

export function buildCapabilityStatement(opts: {
  base: string;
  strict: boolean;
  profiles: Map<string, string[]>;
}): CapabilityStatement {
  const params = searchParamsByType();
  const resource: CapabilityStatementRestResource[] = SUPPORTED_TYPES.map((type) => {
    const ours = opts.profiles.get(type) ?? [];
    return {
      type,
      ...(ours.length ? { supportedProfile: ours } : {}),
      interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: false,
      conditionalCreate: true,
      conditionalRead: 'not-supported',
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      searchParam: [
        ...[...(params.get(type)?.values() ?? [])].map((p) => ({
          name: p.code,
          type: p.type,
          definition: p.definition,
          documentation: p.documentation,
        })),
        { name: '_count', type: 'number' as const, documentation: 'Page size (max 1000)' },
        {
          name: '_offset',
          type: 'number' as const,
          documentation: 'Paging offset, used by next/previous links',
        },
        { name: '_sort', type: 'string' as const, documentation: '_lastUpdated or -_lastUpdated' },
        { name: '_total', type: 'token' as const, documentation: 'none | estimate | accurate' },
      ],
      operation: [{ name: 'validate', definition: VALIDATE_OPERATION }],
    };
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'tyokyky-fhir', version: packageVersion() },
    implementation: {
      description: `tyokyky-fhir facade (${opts.strict ? 'strict' : 'lenient'} profile mode)`,
      url: opts.base,
    },
    fhirVersion: '4.0.1',
    format: FORMATS,
    rest: [
      {
        mode: 'server',
        documentation: opts.strict
          ? 'Writes are validated against meta.profile; resources of our families must declare one of our profiles.'
          : 'Writes are validated against meta.profile.',
        resource,
        interaction: SYSTEM_INTERACTIONS.map((code) => ({ code })),
        operation: [{ name: 'validate', definition: VALIDATE_OPERATION }],
      },
    ],
  };
}
