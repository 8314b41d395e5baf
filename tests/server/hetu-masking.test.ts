// A HETU the client wrote where a name belongs (a property name, a search parameter) must not come back
// in any part of an OperationOutcome: not in diagnostics, nor in expression or location, and not in
// $validate's answer either (a 200 whose OperationOutcome quotes the resource as much as a refusal).
import type { OperationOutcome } from '@medplum/fhirtypes';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { maskedOutcome } from '../../src/server/http/outcome-cap.ts';
import { appPerSuite, practitioner } from './helpers.ts';

const HETU = '010181-900C';
const FHIR = 'application/fhir+json';

describe('maskedOutcome', () => {
  it('masks a HETU in diagnostics, expression and location', () => {
    const oo: OperationOutcome = {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'structure',
          diagnostics: `Unrecognized property '${HETU}'`,
          expression: [`Patient.${HETU}`, 'Patient.name'],
          location: [`Patient.${HETU}`],
        },
        { severity: 'error', code: 'invalid', expression: [HETU] },
        { severity: 'error', code: 'invalid', diagnostics: 'nothing to mask', expression: ['Patient.id'] },
      ],
    };
    const masked = maskedOutcome(oo);
    expect(JSON.stringify(masked)).not.toContain(HETU);
    expect(masked.issue[0]).toEqual({
      severity: 'error',
      code: 'structure',
      diagnostics: "Unrecognized property '[HETU]'",
      expression: ['Patient.[HETU]', 'Patient.name'],
      location: ['Patient.[HETU]'],
    });
    expect(masked.issue[1]?.expression).toEqual(['[HETU]']);
    expect(masked.issue[2]).toBe(oo.issue[2]);
    // Nothing to mask: the same object.
    const clean: OperationOutcome = { resourceType: 'OperationOutcome', issue: [oo.issue[2]!] };
    expect(maskedOutcome(clean)).toBe(clean);
  });
});

describe('the facade masks every part of an outcome', () => {
  const suite = appPerSuite({ strict: false });

  const post = (path: string, body: unknown) =>
    request(suite.app).post(path).set('Content-Type', FHIR).send(JSON.stringify(body));

  it('a refused write naming a property the client named with a HETU', async () => {
    const r = await post('/fhir/Practitioner', { ...practitioner(), [HETU]: 1 });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.body.resourceType).toBe('OperationOutcome');
    expect(r.text).not.toContain(HETU);
  });

  it('$validate, at type level and with Parameters', async () => {
    const plain = await post('/fhir/Patient/$validate', { resourceType: 'Patient', [HETU]: 1 });
    expect(plain.status).toBe(200);
    expect(plain.body.resourceType).toBe('OperationOutcome');
    expect(plain.body.issue.some((i: { severity: string }) => i.severity === 'error')).toBe(true);
    expect(plain.text).not.toContain(HETU);
    const params = await post('/fhir/Patient/$validate', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: { resourceType: 'Patient', [HETU]: 1 } },
        { name: 'mode', valueCode: 'create' },
      ],
    });
    expect(params.status).toBe(200);
    expect(params.text).not.toContain(HETU);
  });
});
