// The one place that locates the project's run-time files, the same from src/ and the installed dist/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, ownPackageDir, projectPath, readProjectJson } from '../../src/shared/project-files.ts';

describe('project files', () => {
  it('the root is the folder of our package.json, whatever the working directory', () => {
    expect(JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).name).toBe('tyokyky-fhir');
    expect(projectPath('mappings/fhir-map.json')).toBe(join(PROJECT_ROOT, 'mappings', 'fhir-map.json'));
    expect(readProjectJson<{ name: string }>('profiles/package/package.json').name).toBe(
      'tyokyky.fhir.workability',
    );
    expect(ownPackageDir()).toBe(join(PROJECT_ROOT, 'profiles', 'package'));
  });

  it('a missing file names itself, where it was looked for and how to get it back', () => {
    expect(() => readProjectJson('mappings/none.json')).toThrow(
      `tyokyky-fhir: 'mappings/none.json' is missing (looked in ${PROJECT_ROOT}); it ships in the tyokyky-fhir package — reinstall it, or run 'npm ci' in a checkout`,
    );
  });
});
