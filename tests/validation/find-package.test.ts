import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { findPackage, packageSearchPath } from '../../src/validation/packages.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tyokyky-find-package-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function unpacked(dir: string, name: string, version: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version }));
  return dir;
}

describe('findPackage', () => {
  it('finds a .tgz named <name>-<version>.tgz in a folder, or given directly', () => {
    const dir = join(tmp, 'tgz');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hl7.fhir.fi.base-2.0.0-rc2.tgz'), '');
    expect(findPackage('hl7.fhir.fi.base', '2.0.0-rc2', [dir])).toBe(
      join(dir, 'hl7.fhir.fi.base-2.0.0-rc2.tgz'),
    );
    expect(findPackage('hl7.fhir.fi.base', '2.0.0-rc2', [join(dir, 'hl7.fhir.fi.base-2.0.0-rc2.tgz')])).toBe(
      join(dir, 'hl7.fhir.fi.base-2.0.0-rc2.tgz'),
    );
  });

  it('finds an unpacked package and a FHIR package cache entry, checking name and version', () => {
    const pkg = unpacked(join(tmp, 'unpacked', 'package'), 'hl7.fhir.fi.base', '2.0.0-rc2');
    expect(findPackage('hl7.fhir.fi.base', '2.0.0-rc2', [join(tmp, 'unpacked')])).toBe(pkg);
    const cached = unpacked(
      join(tmp, 'cache', 'hl7.fhir.fi.base#2.0.0-rc2', 'package'),
      'hl7.fhir.fi.base',
      '2.0.0-rc2',
    );
    expect(findPackage('hl7.fhir.fi.base', '2.0.0-rc2', [join(tmp, 'cache')])).toBe(cached);
    unpacked(join(tmp, 'other', 'package'), 'hl7.fhir.fi.base', '1.0.0');
    expect(findPackage('hl7.fhir.fi.base', '2.0.0-rc2', [join(tmp, 'other')])).toBeUndefined();
  });

  it('searches in order and skips missing folders', () => {
    const a = unpacked(join(tmp, 'a', 'package'), 'x.y', '1.0.0');
    unpacked(join(tmp, 'b', 'package'), 'x.y', '1.0.0');
    expect(findPackage('x.y', '1.0.0', [join(tmp, 'missing'), join(tmp, 'a'), join(tmp, 'b')])).toBe(a);
  });

  it('without a version, takes the highest version in a folder of packages', () => {
    const dir = join(tmp, 'versions');
    unpacked(join(dir, 'x.z#1.0.0', 'package'), 'x.z', '1.0.0');
    const newest = unpacked(join(dir, 'x.z#1.2.0', 'package'), 'x.z', '1.2.0');
    expect(findPackage('x.z', undefined, [dir])).toBe(newest);
    expect(findPackage('x.z', '1.0.0', [dir])).toBe(join(dir, 'x.z#1.0.0', 'package'));
    expect(findPackage('x.zz', undefined, [dir])).toBeUndefined();
  });
});

describe('packageSearchPath', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('follows DEVELOPERS.md: --package, TYOKYKY_FHIR_PACKAGES, ../shared/fhir-packages, ~/.fhir/packages', () => {
    vi.stubEnv('TYOKYKY_FHIR_PACKAGES', '/e1:/e2');
    // A checkout: the project root holds src/.
    const checkout = join(tmp, 'repo', 'main');
    mkdirSync(join(checkout, 'src'), { recursive: true });
    expect(packageSearchPath(['/p'], checkout, process.env)).toEqual([
      '/p',
      '/e1',
      '/e2',
      join(tmp, 'repo', 'shared', 'fhir-packages'),
      join(homedir(), '.fhir', 'packages'),
    ]);
  });

  it('an installed package (no src/ in its root) does not look in ../shared beside it', () => {
    vi.stubEnv('TYOKYKY_FHIR_PACKAGES', '');
    const installed = join(tmp, 'app', 'node_modules', 'tyokyky-fhir');
    mkdirSync(join(installed, 'dist'), { recursive: true });
    expect(packageSearchPath([], installed, process.env)).toEqual([join(homedir(), '.fhir', 'packages')]);
  });
});
