/**
 * The remote's command-line options, shared by `tyokyky sync …` and `tyokyky serve --remote …`: each
 * flag with the environment variable it falls back to. The sync stage turns the settings into a
 * RemoteConfig (remoteConfigFrom), so both commands configure a remote the same way.
 */
import type { Command } from 'commander';
import type { RemoteSettings } from '../sync/index.ts';

type RemoteKey = keyof RemoteSettings;

interface RemoteOption {
  key: RemoteKey;
  flags: string;
  description: string;
  /** The description where the command never reaches the remote (`sync status`), when it differs. */
  unconnected?: string;
  env: string;
}

const REMOTE_OPTIONS: RemoteOption[] = [
  {
    key: 'remote',
    flags: '--remote <url>',
    description: 'remote FHIR base URL',
    unconnected: "remote FHIR base URL, shown beside the store's own (optional)",
    env: 'TYOKYKY_SYNC_REMOTE',
  },
  {
    key: 'party',
    flags: '--party <code>',
    description: 'consent-party code the remote counts as (default other-health-care)',
    unconnected:
      'consent-party code, shown beside the one the store syncs as (optional; with --remote, default other-health-care)',
    env: 'TYOKYKY_SYNC_PARTY',
  },
  {
    key: 'tokenUrl',
    flags: '--token-url <url>',
    description: 'OAuth 2.0 token endpoint',
    env: 'TYOKYKY_SYNC_TOKEN_URL',
  },
  {
    key: 'clientId',
    flags: '--client-id <id>',
    description: 'OAuth client id',
    env: 'TYOKYKY_SYNC_CLIENT_ID',
  },
  {
    key: 'clientSecret',
    flags: '--client-secret <secret>',
    description: 'OAuth client secret (prefer the environment variable)',
    env: 'TYOKYKY_SYNC_CLIENT_SECRET',
  },
  {
    key: 'clientKey',
    flags: '--client-key <file>',
    description:
      'private JWK file for private_key_jwt instead of a secret (a tyokyky facade with --auth embedded)',
    env: 'TYOKYKY_SYNC_CLIENT_KEY',
  },
  { key: 'scope', flags: '--scope <scopes>', description: 'OAuth scopes', env: 'TYOKYKY_SYNC_SCOPE' },
  {
    key: 'bundle',
    flags: '--bundle <mode>',
    description: 'auto | transaction | batch | none (default auto)',
    env: 'TYOKYKY_SYNC_BUNDLE',
  },
  {
    key: 'remoteKind',
    flags: '--remote-kind <kind>',
    description: 'fhir-store (default) or kanta-phr (self-assessments to Kanta PHR, docs/kanta.md)',
    unconnected: "fhir-store (default) or kanta-phr (with --remote: adds Kanta PHR's lines)",
    env: 'TYOKYKY_SYNC_REMOTE_KIND',
  },
  {
    key: 'applicationName',
    flags: '--application-name <name>',
    description: "Kanta PHR creating application's name (with --remote-kind kanta-phr)",
    env: 'TYOKYKY_SYNC_APPLICATION_NAME',
  },
  {
    key: 'applicationId',
    flags: '--application-id <id>',
    description: 'the applicationId Kela assigned to us (with --remote-kind kanta-phr)',
    env: 'TYOKYKY_SYNC_APPLICATION_ID',
  },
  {
    key: 'timeout',
    flags: '--timeout <ms>',
    description: 'per-request timeout to the remote in ms (default 10000)',
    env: 'TYOKYKY_SYNC_TIMEOUT',
  },
  {
    key: 'pullOverlap',
    flags: '--pull-overlap <ms>',
    description:
      "how far back each pull re-reads before its cursor, in ms (default 1000); above the remote's longest write transaction",
    env: 'TYOKYKY_SYNC_PULL_OVERLAP_MS',
  },
];

const ALL_KEYS: readonly RemoteKey[] = REMOTE_OPTIONS.map((o) => o.key);

/**
 * What a command that never reaches the remote reads (`sync status`): which remote, as which party and
 * of which kind (a kanta-phr remote needs its application) — no credentials, transport or timing.
 */
export const REMOTE_IDENTITY: readonly RemoteKey[] = [
  'remote',
  'party',
  'remoteKind',
  'applicationName',
  'applicationId',
];

/**
 * Adds the remote options to `cmd` (`remoteNote` is appended to the --remote description). With `only`
 * (a command that never reaches the remote), just those, described as such a command reads them.
 */
export function addRemoteOptions(cmd: Command, remoteNote = '', only?: readonly RemoteKey[]): Command {
  for (const o of REMOTE_OPTIONS) {
    if (only && !only.includes(o.key)) continue;
    const description = (only && o.unconnected) || o.description;
    cmd.option(o.flags, `${description}${o.key === 'remote' ? remoteNote : ''} (env ${o.env})`);
  }
  return cmd;
}

/**
 * The remote settings of parsed options: a flag wins over its environment variable. `keys`: the
 * settings the command reads (all by default); the environment's others are not looked at.
 */
export function remoteSettings(
  opts: RemoteSettings,
  env: NodeJS.ProcessEnv = process.env,
  keys: readonly RemoteKey[] = ALL_KEYS,
): RemoteSettings {
  const out: RemoteSettings = {};
  for (const o of REMOTE_OPTIONS) {
    if (!keys.includes(o.key)) continue;
    const value = opts[o.key] ?? env[o.env];
    if (value !== undefined && value !== '') out[o.key] = value;
  }
  return out;
}

/**
 * The remote's flags given on the command line other than `--remote` itself (as written, e.g.
 * `--party`): settings of a sync that only runs with a remote. Their environment variables are not
 * counted, as an environment may be shared with commands that have one.
 */
export function remoteFlagsGiven(cmd: Command): string[] {
  return REMOTE_OPTIONS.filter((o) => o.key !== 'remote' && cmd.getOptionValueSource(o.key) === 'cli').map(
    (o) => o.flags.split(' ')[0],
  );
}
