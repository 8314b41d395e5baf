// Seeds N Observations (spread over N/100 patients) straight into the store's tables with one
// INSERT ... SELECT per table: the store has no bulk path yet and 100,000 validated creates would
// take minutes. Rows mirror what the store itself writes (content, history, token/date index), so
// this follows the store's schema (store-002: token rows carry last_updated).
export interface SeedQuery {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

export const patientCount = (n: number) => Math.max(1, Math.floor(n / 100));

export async function seedObservations(db: SeedQuery, n: number): Promise<void> {
  const patients = patientCount(n);
  const series = `SELECT g, 'bench-obs-' || g AS id, 'bench-pat-' || (g % ${patients}) AS patient,
      timestamptz '2025-01-01' + (g || ' seconds')::interval AS ts FROM generate_series(1, ${n}) g`;
  const content = `jsonb_build_object(
      'resourceType', 'Observation', 'id', s.id,
      'meta', jsonb_build_object('versionId', '1', 'lastUpdated', to_char(s.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
      'status', 'final',
      'identifier', jsonb_build_array(jsonb_build_object('system', 'urn:ietf:rfc:3986', 'value', 'urn:uuid:bench-' || s.g)),
      'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
        'system', 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-observation', 'code', 'work-ability-score'))),
      'subject', jsonb_build_object('reference', 'Patient/' || s.patient),
      'effectiveDateTime', to_char(s.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
      'valueInteger', s.g % 11)`;
  await db.query(`INSERT INTO resources (resource_type, id, version_id, last_updated, deleted, content)
    SELECT 'Observation', s.id, 1, s.ts, false, ${content} FROM (${series}) s`);
  await db.query(`INSERT INTO resource_history (resource_type, id, version_id, last_updated, action, content)
    SELECT resource_type, id, 1, last_updated, 'create', content FROM resources WHERE resource_type = 'Observation' AND id LIKE 'bench-obs-%'`);
  await db.query(`INSERT INTO search_token (resource_type, id, param, system, value, last_updated)
    SELECT 'Observation', s.id, p.param, p.system, p.value, s.ts FROM (${series}) s
    CROSS JOIN LATERAL (VALUES
      ('patient', 'Patient', s.patient), ('subject', 'Patient', s.patient),
      ('code', 'https://tyokyky-fhir.org/fhir/CodeSystem/work-ability-observation', 'work-ability-score'),
      ('status', '', 'final'),
      ('identifier', 'urn:ietf:rfc:3986', 'urn:uuid:bench-' || s.g)) AS p(param, system, value)`);
  await db.query(`INSERT INTO search_date (resource_type, id, param, low, high)
    SELECT 'Observation', s.id, 'date', date_trunc('day', s.ts), date_trunc('day', s.ts) + interval '1 day' FROM (${series}) s`);
  await db.query('ANALYZE');
}
