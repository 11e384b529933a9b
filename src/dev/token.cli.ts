import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { z } from 'zod';

import { roles, type Role } from '../modules/auth/roles.decorator.js';
import { parseDurationSeconds } from '../modules/config/config.schema.js';
import { devTokenSigner, readDevIssuerFile, type DevIssuerFile } from './dev-issuer.js';

/**
 * `npm run -s token -- --role <role> [...]`: prints a token the running demo accepts, and nothing
 * else on stdout, so `TOKEN=$(npm run -s token -- --role ops)` works. Signs with the key the demo's
 * development issuer wrote; device tokens take their profiles and country from the sample gold.
 */
const usage = `usage: npm run -s token -- --role <device|marketing|partner|ops> [options]
  --account <id>         device: the account (default: the first sample account with 2+ profiles)
  --profiles <a,b>       device: profile ids (default: the account's, from the accounts file)
  --country <XX>         device: subscription country (default: the account's)
  --partner <id>         partner: the partner id (required for --role partner)
  --subject <sub>        the token's sub (default: derived from the role)
  --expires <n[smhd]>    lifetime (default 12h)
  --issuer-file <path>   the demo's issuer key file (default $FLICK_DEV_ISSUER_FILE or .flick/dev-issuer.json)
  --accounts-file <path> the sample gold's accounts (default .flick/gold/accounts.json)`;

const defaultIssuerFile = '.flick/dev-issuer.json';
const defaultAccountsFile = '.flick/gold/accounts.json';
const startTheDemo = 'is the demo running? start it with npm run demo';

/** A mistake in the options or the setup: reported on stderr with exit code 2. */
export class UsageError extends Error {}

const sampleAccounts = z.array(
  z.object({ accountId: z.string().min(1), country: z.string(), profileIds: z.array(z.string().min(1)) }),
);
type SampleAccount = z.infer<typeof sampleAccounts>[number];

const parseJsonOrUndefined = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const readAccounts = (path: string): SampleAccount[] => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read the sample accounts at ${path} (${(error as NodeJS.ErrnoException).code}): ${startTheDemo}, or pass --accounts-file, or --account with --profiles and --country`,
    );
  }
  const parsed = sampleAccounts.safeParse(parseJsonOrUndefined(text));
  if (!parsed.success) {
    throw new UsageError(`${path} is not a list of {accountId, country, profileIds} accounts`);
  }
  return parsed.data;
};

const pickAccount = (
  accounts: SampleAccount[],
  accountId: string | undefined,
  path: string,
): SampleAccount => {
  if (accountId !== undefined) {
    const account = accounts.find((candidate) => candidate.accountId === accountId);
    if (account === undefined) throw new UsageError(`account ${accountId} is not in ${path}`);
    return account;
  }
  const account =
    accounts.find((candidate) => candidate.profileIds.length >= 2) ??
    accounts.find((candidate) => candidate.profileIds.length >= 1);
  if (account === undefined) throw new UsageError(`${path} has no account with profiles`);
  return account;
};

const readIssuerFile = (path: string): DevIssuerFile => {
  try {
    return readDevIssuerFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`no development issuer key file at ${path}: ${startTheDemo}`);
    throw new UsageError(`cannot use ${path}: ${code ?? (error as Error).message}`);
  }
};

/** A key file left behind by a demo that crashed would sign tokens nobody accepts: say so now. */
const checkIssuerIsServing = async (file: DevIssuerFile, path: string): Promise<void> => {
  let keyIds: unknown[];
  try {
    const response = await fetch(file.jwksUrl, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { keys?: { kid?: unknown }[] };
    keyIds = (body.keys ?? []).map((key) => key.kid);
  } catch {
    throw new UsageError(`the development issuer at ${file.jwksUrl} does not answer: ${startTheDemo}`);
  }
  if (!keyIds.includes(file.privateJwk.kid)) {
    throw new UsageError(
      `${path} is stale: the issuer at ${file.jwksUrl} serves other keys; restart npm run demo`,
    );
  }
};

const deviceClaims = (
  values: { account?: string; profiles?: string; country?: string },
  accountsFile: string,
): Record<string, unknown> => {
  const profiles = values.profiles
    ?.split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
  const country = values.country?.toUpperCase();
  const account =
    values.account !== undefined && profiles !== undefined && country !== undefined
      ? { accountId: values.account, profileIds: profiles, country }
      : pickAccount(readAccounts(accountsFile), values.account, accountsFile);
  const claims = {
    account_id: account.accountId,
    profile_ids: profiles ?? account.profileIds,
    country: country ?? account.country,
  };
  if (!/^[A-Z]{2}$/.test(claims.country)) {
    throw new UsageError(`--country must be an ISO 3166-1 alpha-2 code`);
  }
  return claims;
};

/** Parses the options, reads the key (and accounts) files and signs. @throws UsageError */
export const tokenFromArgs = async (args: string[], env: NodeJS.ProcessEnv): Promise<string> => {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: 'string' },
        account: { type: 'string' },
        partner: { type: 'string' },
        profiles: { type: 'string' },
        country: { type: 'string' },
        subject: { type: 'string' },
        expires: { type: 'string', default: '12h' },
        'issuer-file': { type: 'string' },
        'accounts-file': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${usage}`);
  }
  const role = values.role as Role | undefined;
  if (role === undefined || !roles.includes(role)) {
    throw new UsageError(`--role must be one of ${roles.join(', ')}\n${usage}`);
  }
  const misplaced = [
    ...(role === 'device' ? [] : (['account', 'profiles', 'country'] as const)),
    ...(role === 'partner' ? [] : (['partner'] as const)),
  ].filter((option) => values[option] !== undefined);
  if (misplaced.length > 0) {
    throw new UsageError(
      `${misplaced.map((option) => `--${option}`).join(', ')} cannot be used with --role ${role}`,
    );
  }
  const lifetime = parseDurationSeconds(values.expires);
  if (lifetime === undefined || lifetime === 0) {
    throw new UsageError(`--expires must be a positive duration such as 90s, 15m, 12h or 7d`);
  }

  if (role === 'partner' && (values.partner === undefined || values.partner === '')) {
    throw new UsageError('--role partner needs --partner <id>');
  }

  const issuerPath = values['issuer-file'] ?? env['FLICK_DEV_ISSUER_FILE'] ?? defaultIssuerFile;
  const issuer = readIssuerFile(issuerPath);
  let claims: Record<string, unknown>;
  let subject: string;
  switch (role) {
    case 'device':
      claims = deviceClaims(values, values['accounts-file'] ?? defaultAccountsFile);
      subject = `dev-device-${String(claims['account_id'])}`;
      break;
    case 'partner':
      claims = { partner_id: values.partner };
      subject = `dev-partner-${String(values.partner)}`;
      break;
    case 'marketing':
    case 'ops':
      claims = {};
      subject = `dev-${role}`;
      break;
  }
  await checkIssuerIsServing(issuer, issuerPath);
  const sign = await devTokenSigner(issuer);
  return sign(
    { ...claims, roles: [role] },
    { subject: values.subject ?? subject, expires: Math.floor(Date.now() / 1000) + lifetime },
  );
};

const runningAsScript =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runningAsScript) {
  try {
    process.stdout.write(`${await tokenFromArgs(process.argv.slice(2), process.env)}\n`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`token: ${error.message}\n`);
    process.exitCode = 2;
  }
}
