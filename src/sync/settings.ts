/**
 * The one way a remote's configuration is built from settings (the command line's flags over its
 * environment variables, src/cli/remote-options.ts), used by `tyokyky sync …` and
 * `tyokyky serve --remote …` alike: the same settings, the same checks, the same RemoteConfig.
 */
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { CONSENT_PARTIES } from '../domain/index.ts';
import { withoutByteOrderMark } from '../shared/byte-order-mark.ts';
import { fsErrorText } from '../shared/fs-error.ts';
import { checkHttpUrl } from '../shared/http-url.ts';
import { parseJsonQuietly } from '../shared/json-error.ts';
import type { BundleMode, RemoteConfig } from './config.ts';
import { clientAssertion } from './oauth.ts';

/** The remote options as a command line gives them (all strings, all optional). */
export interface RemoteSettings {
  remote?: string;
  party?: string;
  tokenUrl?: string;
  clientId?: string;
  clientSecret?: string;
  /** Path of a private JWK: private_key_jwt instead of a client secret. */
  clientKey?: string;
  scope?: string;
  bundle?: string;
  timeout?: string;
  pullOverlap?: string;
  remoteKind?: string;
  applicationName?: string;
  applicationId?: string;
}

const BUNDLE_MODES: BundleMode[] = ['auto', 'transaction', 'batch', 'none'];
/** The longest pull overlap taken: a day (each pull re-reads that much). */
const DAY_MS = 86_400_000;

/**
 * The RemoteConfig for these settings; throws an Error naming the option when the
 * settings are incomplete or malformed. Without a remote URL the result is undefined.
 */
export function remoteConfigFrom(s: RemoteSettings): RemoteConfig | undefined {
  // Checked with or without a remote: a command that only reads the queue still names them.
  const party = s.party ?? 'other-health-care';
  if (!(CONSENT_PARTIES as readonly string[]).includes(party))
    throw new Error(`--party must be a consent-party code (${CONSENT_PARTIES.join(', ')}), got "${party}"`);
  const kind = s.remoteKind ?? 'fhir-store';
  if (kind !== 'fhir-store' && kind !== 'kanta-phr')
    throw new Error(`--remote-kind must be fhir-store or kanta-phr, got "${kind}"`);
  if (!s.remote) return undefined;
  const instead = 'use the token settings (--token-url, --client-id, --client-secret or --client-key)';
  checkHttpUrl(s.remote, '--remote', instead);
  if (s.tokenUrl) checkHttpUrl(s.tokenUrl, '--token-url', instead);
  const bundle = (s.bundle ?? 'auto') as BundleMode;
  if (!BUNDLE_MODES.includes(bundle)) throw new Error('--bundle must be auto, transaction, batch or none');
  const timeoutMs = Number(s.timeout ?? '10000');
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new Error(`--timeout must be a positive number of ms, got "${s.timeout}"`);
  const pullOverlapMs = s.pullOverlap === undefined ? undefined : Number(s.pullOverlap);
  if (pullOverlapMs !== undefined && !(/^\d{1,9}$/.test(s.pullOverlap ?? '') && pullOverlapMs <= DAY_MS))
    throw new Error(
      `--pull-overlap must be a whole number of ms from 0 to ${DAY_MS}, got "${s.pullOverlap}"`,
    );
  let auth: RemoteConfig['auth'];
  if (s.tokenUrl) {
    if (!s.clientId) throw new Error('--client-id (or TYOKYKY_SYNC_CLIENT_ID) is required with --token-url');
    if (s.clientKey) {
      auth = {
        tokenUrl: s.tokenUrl,
        clientId: s.clientId,
        method: 'private_key_jwt',
        privateKey: clientKeyOption(s.clientKey),
        scope: s.scope,
      };
    } else {
      if (!s.clientSecret)
        throw new Error(
          '--client-secret or --client-key (or TYOKYKY_SYNC_CLIENT_SECRET / _CLIENT_KEY) is required with --token-url',
        );
      auth = { tokenUrl: s.tokenUrl, clientId: s.clientId, clientSecret: s.clientSecret, scope: s.scope };
    }
  } else if (s.clientId || s.clientSecret || s.clientKey) {
    throw new Error('--client-id/--client-secret/--client-key need --token-url (or TYOKYKY_SYNC_TOKEN_URL)');
  }
  let application: RemoteConfig['application'];
  if (kind === 'kanta-phr') {
    if (!s.applicationName || !s.applicationId)
      throw new Error(
        "--remote-kind kanta-phr needs --application-name and --application-id (Kanta's creating application)",
      );
    application = { name: s.applicationName, applicationId: s.applicationId };
  }
  return {
    baseUrl: s.remote,
    party,
    auth,
    bundle,
    timeoutMs,
    ...(pullOverlapMs === undefined ? {} : { pullOverlapMs }),
    kind,
    ...(application ? { application } : {}),
  };
}

/** `--client-key`'s JWK; the option named in front of what is wrong with the file. */
function clientKeyOption(file: string): JWK {
  try {
    return readPrivateJwk(file);
  } catch (err) {
    throw new Error(`--client-key: ${(err as Error).message}`);
  }
}

/**
 * The one reader of a private JWK for signing client assertions (`--client-key` here, `tyokyky clients
 * assertion|token --key`): a JSON object (a byte order mark dropped) holding a private key. The public
 * JWKS beside it, or one public key, given by mistake is refused saying so; the error names the file
 * and what is wrong, never a word of the key's content.
 */
export function readPrivateJwk(file: string): JWK {
  let text: string;
  try {
    text = withoutByteOrderMark(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${fsErrorText(err)}`);
  }
  let jwk: unknown;
  try {
    jwk = parseJsonQuietly(text);
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`);
  }
  const next = 'pass the .private.jwk.json file keygen wrote';
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk))
    throw new Error(`${file} is not a private JWK (not a JSON object); ${next}`);
  if ('keys' in jwk)
    throw new Error(`${file} is not a private JWK (a JWKS, the public keys, was given); ${next}`);
  if (typeof (jwk as JWK).d !== 'string')
    throw new Error(`${file} is not a private JWK (it holds no private key); ${next}`);
  return jwk as JWK;
}

/**
 * Throws `<file> is not a usable private JWK: …` when jose cannot sign an assertion with `jwk` (an
 * unknown kty or crv, a broken key): checked once when a command starts, not on the first push.
 */
export async function checkSigningKey(jwk: JWK, file: string): Promise<void> {
  try {
    await clientAssertion('key-check', 'https://key-check.invalid/token', jwk);
  } catch (err) {
    // jose's messages name the parameter at fault ("kty", "crv"), never its value.
    throw new Error(`${file} is not a usable private JWK: ${(err as Error).message}`);
  }
}
