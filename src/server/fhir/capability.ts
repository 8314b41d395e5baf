import type {
  CapabilityStatement,
  CapabilityStatementRest,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceInteraction,
} from '@medplum/fhirtypes';
import { readProjectJson } from '../../shared/project-files.ts';
import { SUPPORTED_TYPES, searchParamsByType } from '../resource-types.ts';
import { typeSearchParams } from './capability-search.ts';
import { JSON_PATCH } from './json-patch.ts';
import type { DeclaredInteractions, SecurityStatement } from './route-types.ts';

export const FORMATS = ['application/fhir+json', 'application/json', 'json', 'application/json+fhir'];

/** Canonical definitions of the operations route rows declare. */
const OPERATIONS: Record<string, string> = {
  validate: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  everything: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
};

let version: string | undefined;
function packageVersion(): string {
  version ??= readProjectJson<{ version: string }>('package.json').version;
  return version;
}

/** What the audit log answers; the security layer refuses every other interaction on AuditEvent. */
export const AUDIT_EVENT_INTERACTIONS = ['read', 'search-type'] as const;

/** The audit log, served beside the route table by the security layer: read and search only. */
const AUDIT_EVENT: CapabilityStatementRestResource = {
  type: 'AuditEvent',
  documentation:
    'The audit log (BALP-shaped AuditEvents), read-only; needs system/AuditEvent.rs (system/* does not reach it).',
  interaction: AUDIT_EVENT_INTERACTIONS.map((code) => ({ code })),
  searchParam: [
    {
      name: 'patient',
      type: 'reference',
      documentation:
        'A Patient the event names (AuditEvent.entity.what with role Patient): Patient/<id>, <id> alone, or an absolute URL under this server base; comma-separated alternatives. R4 also matches AuditEvent.agent.who; here no agent is a Patient.',
    },
    {
      name: 'agent',
      type: 'token',
      documentation:
        'The client id that acted, exactly as registered (tyokyky-sync for the sync, unauthenticated for a request without a valid token): the value of AuditEvent.agent.who.identifier (system urn:tyokyky:client): app-a or urn:tyokyky:client|app-a; another system is a 400, |code matches nothing; comma-separated alternatives. Differs from R4, where agent is a reference to AuditEvent.agent.who.',
    },
    {
      name: 'date',
      type: 'date',
      documentation:
        'When the event was recorded (AuditEvent.recorded), as in R4; every prefix (eq, ne, gt, lt, ge, le, sa, eb, ap); comma-separated alternatives.',
    },
    {
      name: 'entity-type',
      type: 'token',
      documentation:
        'A resource type the event read, wrote or searched (Observation, Patient, AuditEvent…: the type of each resource it touched, or of the type searched; a Patient or Consent it names only as the subject of the data or the permission for it does not count), system http://hl7.org/fhir/resource-types: Observation or http://hl7.org/fhir/resource-types|Observation; another system is a 400, |code matches nothing; comma-separated alternatives. Differs from R4, where entity-type is a token on AuditEvent.entity.type (an audit-entity-type code such as 2, System Object).',
    },
    {
      name: '_count',
      type: 'number',
      documentation: 'Page size (default 50, at most 1000: a larger number is taken as 1000); newest first',
    },
    {
      name: '_cursor',
      type: 'string',
      documentation: 'Position of a next link (the last event of the page before)',
    },
  ],
};

/** The policy for parameters an endpoint does not take (unknownParameter in src/store/search.ts). */
const UNKNOWN_PARAMETERS =
  'Unknown parameters are strict by default: a search (of any type, AuditEvent too) or a history refuses a parameter it does not take with 400, an OperationOutcome naming it, unless the request says Prefer: handling=lenient; the parameter is then ignored and left out of the links (a search also lists it in an outcome entry), and the answer says Preference-Applied: handling=lenient. In a search, a repeated _count, _total, _sort or _summary takes its last value.';

/** SMART on FHIR Backend Services, as the security layer enforces it. */
export function restSecurity(sec: SecurityStatement): NonNullable<CapabilityStatementRest['security']> {
  const smart = `${sec.origin()}/.well-known/smart-configuration`;
  if (sec.auth === 'off')
    return {
      description:
        'Authentication is off: this server answers only on its own host (127.0.0.1) unless started with --insecure.',
    };
  return {
    service: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' },
        ],
      },
    ],
    description: `SMART Backend Services (client credentials with private_key_jwt): every request needs a bearer token; system/ scopes decide the interactions; party clients see only what the client's consent permits. Discovery: ${smart}`,
    ...(sec.auth === 'embedded'
      ? {
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [{ url: 'token', valueUri: `${sec.origin()}/auth/token` }],
            },
          ],
        }
      : {}),
  };
}

/** `Source:*` for each source type of `includes` (`Source:param`), once. */
function wildcards(includes: string[]): string[] {
  return [...new Set(includes.map((i) => `${i.slice(0, i.indexOf(':'))}:*`))];
}

export function buildCapabilityStatement(opts: {
  base: string;
  strict: boolean;
  profiles: Map<string, string[]>;
  declared: DeclaredInteractions;
  security?: SecurityStatement;
}): CapabilityStatement {
  const params = searchParamsByType();
  const { declared } = opts;
  // At system level only the operations served there; on a resource those served at type or instance
  // level (R4 lists both under the resource) on that type.
  const operationsOn = (type: string | undefined) => {
    const ops = declared.operations
      .filter((op) =>
        type === undefined
          ? op.levels.includes('system')
          : op.levels.some((level) => level !== 'system') && (!op.on || op.on.includes(type)),
      )
      .map(({ name }) => ({ name, definition: OPERATIONS[name] as string }));
    return ops.length ? { operation: ops } : {};
  };
  const resource: CapabilityStatementRestResource[] = SUPPORTED_TYPES.map((type) => {
    const ours = opts.profiles.get(type) ?? [];
    const refs = [...(params.get(type)?.values() ?? [])].filter((p) => p.type === 'reference');
    const revRefs = SUPPORTED_TYPES.flatMap((source) =>
      [...(params.get(source)?.values() ?? [])]
        .filter((p) => p.type === 'reference' && p.targets?.includes(type))
        .map((p) => `${source}:${p.code}`),
    );
    return {
      type,
      ...(ours.length ? { supportedProfile: ours } : {}),
      interaction: declared.type.map((code) => ({
        code: code as CapabilityStatementRestResourceInteraction['code'],
      })),
      documentation:
        'Conditional create (If-None-Exist) and conditional update (PUT Type?identifier=…) take identifier=system|value only, and the resource must carry that identifier; a conditional update of an existing resource needs If-Match like any update. PUT and PATCH need If-Match (428 without); DELETE takes If-Match optionally (412 when stale), as R4 allows.',
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: false,
      conditionalCreate: true,
      conditionalRead: 'full-support',
      conditionalUpdate: declared.conditionalUpdate,
      conditionalDelete: 'not-supported',
      searchParam: typeSearchParams(type, params.get(type), revRefs),
      ...operationsOn(type),
      // Each parameter, and the wildcard `Type:*` (all of a source type's that apply).
      ...(refs.length ? { searchInclude: [...refs.map((p) => `${type}:${p.code}`), `${type}:*`] } : {}),
      ...(revRefs.length ? { searchRevInclude: [...revRefs, ...wildcards(revRefs)] } : {}),
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
    patchFormat: [JSON_PATCH],
    rest: [
      {
        mode: 'server',
        documentation: `${
          opts.strict
            ? 'Writes are validated against meta.profile; resources of our families must declare one of our profiles.'
            : 'Writes are validated against meta.profile.'
        } ${UNKNOWN_PARAMETERS}`,
        ...(opts.security ? { security: restSecurity(opts.security) } : {}),
        resource: opts.security ? [...resource, AUDIT_EVENT] : resource,
        interaction: declared.system.map((code) => ({
          code: code as NonNullable<CapabilityStatementRest['interaction']>[number]['code'],
        })),
        ...operationsOn(undefined),
      },
    ],
  };
}
