import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

const EXAMPLES = new URL('../../profiles/package/example/', import.meta.url);

export function example<T extends Resource = Resource>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, EXAMPLES), 'utf8')) as T;
}

/**
 * A transaction Bundle of the committed IG examples (e.g. the Maija story), shaped as a vendor would
 * send it: no server ids, `urn:uuid` fullUrls, references between entries by those fullUrls and
 * conditional creates on each business identifier.
 */
export function storyTransaction(files: string[]): Bundle {
  const resources = files.map((f) => example(f));
  const urns = new Map(resources.map((r) => [`${r.resourceType}/${r.id}`, `urn:uuid:${randomUUID()}`]));
  const relink = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(relink);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, k === 'reference' && typeof v === 'string' ? (urns.get(v) ?? v) : relink(v)]),
    );
  };
  const entry: BundleEntry[] = resources.map((r) => {
    const { id, ...rest } = relink(r) as Resource;
    const identifier = (r as { identifier?: { system?: string; value?: string }[] }).identifier?.[0];
    return {
      fullUrl: urns.get(`${r.resourceType}/${id}`),
      resource: rest as Resource,
      request: {
        method: 'POST',
        url: r.resourceType,
        ...(identifier?.system ? { ifNoneExist: `identifier=${identifier.system}|${identifier.value}` } : {}),
      },
    };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

export const MAIJA_STORY = [
  'Organization-helsinki-sote.json',
  'PractitionerRole-social-worker-laine.json',
  'Patient-maija.json',
  'Questionnaire-kykyviisari.json',
  'QuestionnaireResponse-maija-self-assessment.json',
  'Observation-maija-work-ability-score.json',
  'Observation-maija-assessment.json',
];
