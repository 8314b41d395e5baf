// What `tyokyky` answers to a command line it cannot parse, and what its help names (in this process).
import { describe, expect, it } from 'vitest';
import { runHere } from '../helpers/cli.ts';

describe('tyokyky usage', () => {
  it('answers a wrong option with the error and a hint, not the whole help, and exit code 2', async () => {
    const r = await runHere(['serve', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.out.trim().split('\n')).toEqual([
      "error: unknown option '--bogus'",
      '(run the command with --help for its options)',
    ]);
  });

  it('serve --help names the environment variable of every option that reads one', async () => {
    const help = (await runHere(['serve', '--help'])).out.replace(/\s+/g, ' ');
    for (const name of ['TYOKYKY_AUTH', 'TYOKYKY_AUTH_ISSUER', 'TYOKYKY_AUTH_JWKS_URL', 'TYOKYKY_RATE_LIMIT'])
      expect(help).toContain(`(env ${name})`);
  });
});
