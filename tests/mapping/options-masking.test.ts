// A JavaScript caller's wrong option is refused with a TypeError that quotes it; a HETU in it is
// masked there as in every other message (maskHetus): an error text may be logged.
import { describe, expect, it } from 'vitest';
import { suvi } from '../../examples/tools/personas.ts';
import { type Language, fromFhir, toFhir } from '../../src/mapping/index.ts';

const HETU = '010181-900C';

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('option errors never quote a HETU', () => {
  it('localIdSystemBase (toFhir and fromFhir): the value is quoted with the HETU masked', () => {
    const base = `urn:oid:${HETU}`;
    for (const e of [
      thrown(() => toFhir(suvi, { localIdSystemBase: base })),
      thrown(() => fromFhir(toFhir(suvi), { localIdSystemBase: base })),
    ]) {
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(/^options\.localIdSystemBase must be /);
      expect(e.message).not.toContain(HETU);
      expect(e.message).toContain('got "urn:oid:[HETU]"');
    }
  });

  it('language: the value is quoted with the HETU masked', () => {
    const e = thrown(() => toFhir(suvi, { language: HETU as Language }));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^options\.language must be one of /);
    expect(e.message).not.toContain(HETU);
    expect(e.message).toContain('got "[HETU]"');
  });

  it('a value without a HETU is still quoted as it was', () => {
    expect(thrown(() => toFhir(suvi, { localIdSystemBase: 'urn:oid:1.2.3' })).message).toContain(
      'got "urn:oid:1.2.3"',
    );
  });
});
