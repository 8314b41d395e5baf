// Kanta PHR's R4 CapabilityStatement (Omatietovaranto 1.1, 2021-11-24) as the sandbox's rule table:
// which types, interactions and search parameters exist, which search parameter is mandatory, and
// how conditional create and versioning work. The statement itself is served (with our base URL).
import { readFileSync } from 'node:fs';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { restSecurity } from '../fhir/capability.ts';
import type { SecurityStatement } from '../fhir/route-types.ts';

const STATEMENT_FILE = new URL(
  '../../../profiles/kanta-phr/package/CapabilityStatement-kanta-phr-capabilitystatement.json',
  import.meta.url,
);

export interface KantaSearchParam {
  name: string;
  type: string;
  /** The FHIRPath-like element path from the statement, e.g. `QuestionnaireResponse.authored`. */
  definition: string;
}

export interface KantaTypeRules {
  type: string;
  interactions: Set<string>;
  searchParams: Map<string, KantaSearchParam>;
  /** Search parameters the statement documents as mandatory (`patient` on three types). */
  mandatory: string[];
  conditionalCreate: boolean;
  /** The statement's `versioning` is `versioned-update`: an update needs If-Match (on the others it may). */
  versionedUpdate: boolean;
}

export interface KantaCapability {
  statement: CapabilityStatement;
  types: Map<string, KantaTypeRules>;
}

function rulesOf(r: CapabilityStatementRestResource): KantaTypeRules {
  const searchParams = new Map<string, KantaSearchParam>();
  const mandatory: string[] = [];
  for (const p of r.searchParam ?? []) {
    searchParams.set(p.name, { name: p.name, type: p.type, definition: (p.definition ?? '').trim() });
    if (/mandatory search parameter/i.test(p.documentation ?? '')) mandatory.push(p.name);
  }
  return {
    type: r.type,
    interactions: new Set((r.interaction ?? []).map((i) => i.code)),
    searchParams,
    mandatory,
    conditionalCreate: r.conditionalCreate === true,
    versionedUpdate: r.versioning === 'versioned-update',
  };
}

let cached: KantaCapability | undefined;

export function kantaCapability(): KantaCapability {
  if (!cached) {
    const statement = JSON.parse(readFileSync(STATEMENT_FILE, 'utf8')) as CapabilityStatement;
    const types = new Map<string, KantaTypeRules>();
    for (const r of statement.rest?.[0]?.resource ?? []) types.set(r.type, rulesOf(r));
    cached = { statement, types };
  }
  return cached;
}

/**
 * Kanta's statement as this sandbox's own: same rules, our base URL and software note, what the
 * sandbox does not do taken out — no update-as-create (Kanta allows it on Patient; here an update of
 * an unknown id is 404), no CORS — what it does put in (the `batch` it takes, no transaction), and
 * its security as the security layer (`security`) enforces it: without one, none. It instantiates
 * Kanta's statement and has no canonical url: Kanta's names Kanta's statement, not this one.
 */
export function servedStatement(base: string, security?: SecurityStatement): CapabilityStatement {
  const { url, ...statement } = kantaCapability().statement;
  const rest = (statement.rest ?? []).map((r) => ({
    ...r,
    interaction: [{ code: 'batch' as const }],
    security: {
      cors: false,
      ...(security
        ? restSecurity(security)
        : { description: 'None: the local sandbox has no authorization (Kanta PHR uses OAuth 2.0)' }),
    },
    resource: (r.resource ?? []).map((res) => (res.updateCreate ? { ...res, updateCreate: false } : res)),
  }));
  const oauth = security && security.auth !== 'off' ? '' : '; no OAuth';
  return {
    ...statement,
    rest,
    id: 'kanta-phr-sandbox',
    kind: 'instance',
    date: statement.date,
    instantiates: [url ?? ''],
    implementation: {
      description: `tyokyky-fhir Kanta PHR sandbox (local; not Kanta${oauth})`,
      url: base,
    },
  };
}
