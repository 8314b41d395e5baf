// remoteConfigFrom is the one path from command-line/environment settings to a RemoteConfig
// (sync and serve): each rule gets a case that breaks it and the message expected.
import { describe, expect, it } from 'vitest';
import { remoteConfigFrom } from '../../src/sync/index.ts';

describe('remoteConfigFrom', () => {
  it('defaults to a FHIR store with the default party, bundle mode and timeout', () => {
    expect(remoteConfigFrom({ remote: 'http://r.example/fhir' })).toEqual({
      baseUrl: 'http://r.example/fhir',
      party: 'other-health-care',
      auth: undefined,
      bundle: 'auto',
      timeoutMs: 10_000,
      kind: 'fhir-store',
    });
    expect(remoteConfigFrom({})).toBeUndefined();
  });

  it('takes a pull overlap in ms', () => {
    expect(remoteConfigFrom({ remote: 'http://r.example/fhir', pullOverlap: '0' })).toMatchObject({
      pullOverlapMs: 0,
    });
    expect(remoteConfigFrom({ remote: 'http://r.example/fhir', pullOverlap: '30000' })).toMatchObject({
      pullOverlapMs: 30_000,
    });
  });

  it('a kanta-phr remote carries its creating application', () => {
    expect(
      remoteConfigFrom({
        remote: 'http://phr.example/fhir',
        remoteKind: 'kanta-phr',
        applicationName: 'Työkyky',
        applicationId: 'app-1',
      }),
    ).toMatchObject({ kind: 'kanta-phr', application: { name: 'Työkyky', applicationId: 'app-1' } });
  });

  it.each([
    [{ remoteKind: 'kanta' }, '--remote-kind must be fhir-store or kanta-phr, got "kanta"'],
    [
      { remoteKind: 'kanta-phr', applicationName: 'x' },
      '--remote-kind kanta-phr needs --application-name and --application-id',
    ],
    [{ party: 'bogus-party' }, '--party must be a consent-party code (kela, te-services,'],
    [{ bundle: 'stream' }, '--bundle must be auto, transaction, batch or none'],
    [{ timeout: '-1' }, '--timeout must be a positive number of ms, got "-1"'],
    [{ pullOverlap: '-1' }, '--pull-overlap must be a whole number of ms from 0 to 86400000, got "-1"'],
    [{ pullOverlap: '1.5' }, '--pull-overlap must be a whole number of ms from 0 to 86400000, got "1.5"'],
    [
      { pullOverlap: '86400001' },
      '--pull-overlap must be a whole number of ms from 0 to 86400000, got "86400001"',
    ],
    [{ pullOverlap: '' }, '--pull-overlap must be a whole number of ms from 0 to 86400000, got ""'],
    [{ tokenUrl: 'http://t' }, '--client-id (or TYOKYKY_SYNC_CLIENT_ID) is required with --token-url'],
    [{ clientKey: '/nonexistent.jwk' }, '--client-id/--client-secret/--client-key need --token-url'],
    [
      { tokenUrl: 'http://t', clientId: 'c', clientKey: '/nonexistent.jwk' },
      '--client-key: cannot read /nonexistent.jwk: no such file or directory',
    ],
    // Not JSON: the message must not quote the file (it would be a piece of a private key).
    [
      { tokenUrl: 'http://t', clientId: 'c', clientKey: 'README.md' },
      /^--client-key: README.md is not JSON: Unexpected token in JSON$/,
    ],
    [{ remote: 'ftp://r.example/fhir' }, '--remote must be an absolute http(s) URL'],
    [{ remote: 'r.example/fhir' }, '--remote must be an absolute http(s) URL'],
    [{ tokenUrl: '/token', clientId: 'c', clientSecret: 's' }, '--token-url must be an absolute http(s) URL'],
  ])('refuses %j', (settings, message) => {
    expect(() => remoteConfigFrom({ remote: 'http://r.example/fhir', ...settings })).toThrow(message);
  });

  it('checks the party and the remote kind also without a remote (commands that only read the queue)', () => {
    expect(remoteConfigFrom({})).toBeUndefined();
    expect(() => remoteConfigFrom({ party: 'bogus' })).toThrow('--party must be a consent-party code');
    expect(() => remoteConfigFrom({ remoteKind: 'bogus' })).toThrow(
      '--remote-kind must be fhir-store or kanta-phr',
    );
  });

  it.each([
    ['--remote', { remote: 'https://sync:s3cret@r.example/fhir' }],
    ['--token-url', { tokenUrl: 'https://sync:s3cret@t.example/token', clientId: 'c', clientSecret: 's' }],
  ])('refuses credentials in %s without repeating them', (option, settings) => {
    const refuse = () => remoteConfigFrom({ remote: 'http://r.example/fhir', ...settings });
    expect(refuse).toThrow(`${option} must not carry credentials (user:password@); use the token settings`);
    expect(refuse).not.toThrow(/s3cret/);
  });
});
