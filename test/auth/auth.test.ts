import 'reflect-metadata';

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Controller, Get, type LoggerService } from '@nestjs/common';
import { Field, ObjectType, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { readDevIssuerFile, startDevIssuer } from '../../src/dev/dev-issuer.js';
import { tokenFromArgs, UsageError } from '../../src/dev/token.cli.js';
import { AuthModule } from '../../src/modules/auth/auth.module.js';
import { CurrentPrincipal } from '../../src/modules/auth/current-principal.decorator.js';
import type { Principal } from '../../src/modules/auth/principal.js';
import { AnyRole, Roles } from '../../src/modules/auth/roles.decorator.js';
import { RemoteSigningKeys } from '../../src/modules/auth/signing-keys.js';
import { TokenVerifier } from '../../src/modules/auth/token-verifier.js';
import { loadConfig } from '../../src/modules/config/app-config.js';
import { ConfigModule } from '../../src/modules/config/config.module.js';
import { GraphQLSetupModule } from '../../src/modules/graphql/graphql-setup.module.js';
import { startTestIssuer, type TestIssuer } from '../support/dev-issuer.js';

@ObjectType()
class ProbeAccount {
  @Field()
  accountId!: string;
}

@Resolver(() => ProbeAccount)
class ProbeResolver {
  @AnyRole()
  @Query(() => String)
  whoAmI(@CurrentPrincipal() principal: Principal): string {
    return `${principal.subject}:${principal.roles.join(',')}`;
  }

  @Roles('ops')
  @Query(() => String)
  opsReport(): string {
    return 'all datasets fresh';
  }

  @Roles('device')
  @Query(() => ProbeAccount)
  myAccount(@CurrentPrincipal() principal: Principal): ProbeAccount {
    return { accountId: principal.accountId ?? '' };
  }

  // No roles declared: ResolveField runs inside the already-authorised myAccount.
  @ResolveField(() => [String])
  profiles(@Parent() _account: ProbeAccount, @CurrentPrincipal() principal: Principal): readonly string[] {
    return principal.profileIds ?? [];
  }

  @Query(() => String)
  forgotToDeclare(): string {
    return 'served without a roles declaration';
  }
}

@Controller('probe')
class ProbeController {
  @Get()
  ok(): { ok: true } {
    return { ok: true };
  }
}

/** Keeps what Nest logs, to show that refusals are not logged as errors and defects are. */
class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

interface GraphQLResponse {
  status: number;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  text: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let issuer: TestIssuer;
let app: NestFastifyApplication;
let url: string;
let workDir: string;
let keyFile: string;
let accountsFile: string;
let keysLoadedAtStart = 0;
const logger = new CapturingLogger();

const graphql = async (query: string, authorization?: string): Promise<GraphQLResponse> => {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as GraphQLResponse['body'], text };
};

const bearer = async (...args: Parameters<TestIssuer['tokenFor']>) =>
  `Bearer ${await issuer.tokenFor(...args)}`;
const codesOf = (response: GraphQLResponse) => response.body.errors?.map((error) => error.extensions?.code);

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'flick-auth-'));
  keyFile = join(workDir, 'dev-issuer.json');
  accountsFile = join(workDir, 'accounts.json');
  await writeFile(
    accountsFile,
    JSON.stringify([
      { accountId: 'a-solo', country: 'FR', profileIds: ['p-solo'], language: 'fr' },
      { accountId: 'a-family', country: 'BR', profileIds: ['p-1', 'p-2', 'p-3'], plan: 'premium' },
    ]),
  );
  issuer = await startTestIssuer({ keyFile });
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    COSMOS_ENDPOINT: 'https://127.0.0.1:8081/',
    ...issuer.env,
  });
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), GraphQLSetupModule, AuthModule],
    providers: [ProbeResolver],
    controllers: [ProbeController],
  }).compile();
  const refresh = vi.spyOn(RemoteSigningKeys.prototype, 'refresh');
  app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger });
  await app.listen(0, '127.0.0.1');
  url = await app.getUrl();
  keysLoadedAtStart = refresh.mock.calls.length;
  refresh.mockRestore();
});

afterAll(async () => {
  await app?.close();
  await issuer?.close();
  await rm(workDir, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
  logger.errors.length = 0;
});

describe('authentication and roles over HTTP', () => {
  it('refuses a query without a token as UNAUTHENTICATED, without logging an error', async () => {
    const response = await graphql('{ whoAmI }');
    expect(codesOf(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.body.errors?.[0]?.message).toMatch(/Authorization: Bearer/);
    expect(response.body.data).toBeNull();
    expect(logger.errors).toEqual([]);
  });

  it('answers a role it allows', async () => {
    const response = await graphql('{ opsReport whoAmI }', await bearer('ops'));
    expect(response.body).toEqual({ data: { opsReport: 'all datasets fresh', whoAmI: 'test-ops:ops' } });
  });

  it('refuses a role it does not allow as FORBIDDEN, naming the roles allowed', async () => {
    const response = await graphql('{ opsReport }', await bearer('marketing'));
    expect(codesOf(response)).toEqual(['FORBIDDEN']);
    expect(response.body.errors?.[0]?.message).toBe('opsReport requires one of the roles: ops.');
    expect(logger.errors).toEqual([]);
  });

  it('refuses only the fields the role may not see when a query mixes them', async () => {
    const response = await graphql('{ whoAmI opsReport }', await bearer('partner'));
    expect(codesOf(response)).toEqual(['FORBIDDEN']);
    expect(response.body.errors?.[0]).toMatchObject({ path: ['opsReport'] });
  });

  it('refuses an operation without a roles declaration, whoever asks, and logs the defect', async () => {
    const response = await graphql('{ forgotToDeclare }', await bearer('ops'));
    expect(codesOf(response)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(response.text).not.toContain('served without a roles declaration');
    expect(logger.errors.join('\n')).toMatch(/Query\.forgotToDeclare \(ProbeResolver\) declares no roles/);
    expect(codesOf(await graphql('{ forgotToDeclare }'))).toEqual(['INTERNAL_SERVER_ERROR']);
  });

  it('refuses an expired token as UNAUTHENTICATED', async () => {
    const response = await graphql('{ whoAmI }', await bearer('ops', {}, { expires: '-5m' }));
    expect(codesOf(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.body.errors?.[0]?.message).toBe('The token has expired.');
  });

  it('refuses a malformed token without echoing it', async () => {
    const garbage = 'not-a-jwt-but-long-enough-to-spot';
    const response = await graphql('{ whoAmI }', `Bearer ${garbage}`);
    expect(codesOf(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.text).not.toContain(garbage);
    expect(codesOf(await graphql('{ whoAmI }', 'Basic dXNlcjpwYXNz'))).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses a device token missing the claims its role requires, naming the claim', async () => {
    const response = await graphql('{ whoAmI }', await bearer('device', { country: undefined }));
    expect(codesOf(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.body.errors?.[0]?.message).toMatch(/country claim/);
  });

  it('lets field resolvers of an authorised operation through without a declaration of their own', async () => {
    const response = await graphql('{ myAccount { accountId profiles } }', await bearer('device'));
    expect(response.body).toEqual({
      data: { myAccount: { accountId: 'acc-test-1', profiles: ['p-test-1', 'p-test-2'] } },
    });
  });

  it('verifies the token once per request however many root fields it asks', async () => {
    const verify = vi.spyOn(TokenVerifier.prototype, 'verifyOrThrow');
    const response = await graphql('{ a: whoAmI b: whoAmI c: whoAmI opsReport }', await bearer('ops'));
    expect(response.body.errors).toBeUndefined();
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('loads the signing keys when the application starts', () => {
    expect(keysLoadedAtStart).toBe(1);
  });

  it('does not guard plain HTTP routes (health)', async () => {
    const response = await fetch(`${url}/probe`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });
});

describe('development issuer', () => {
  it('serves its key set and discovery document, and writes a private key file it removes on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flick-issuer-'));
    const file = join(dir, 'nested', 'issuer.json');
    const dev = await startDevIssuer({ keyFile: file });
    try {
      expect(dev.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/flick-dev$/);
      expect(dev.audience).toBe('api://flick-api');
      expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
      const written = readDevIssuerFile(file);
      expect(written).toMatchObject({ issuer: dev.issuer, audience: dev.audience, jwksUrl: dev.jwksUrl });
      const jwks = (await (await fetch(dev.jwksUrl)).json()) as { keys: Record<string, unknown>[] };
      expect(jwks.keys).toEqual([
        expect.objectContaining({ kid: written.privateJwk.kid, alg: 'ES256', kty: 'EC' }),
      ]);
      expect(jwks.keys[0]).not.toHaveProperty('d');
      const discovery = await fetch(`${dev.issuer}/.well-known/openid-configuration`);
      expect(await discovery.json()).toMatchObject({ issuer: dev.issuer, jwks_uri: dev.jwksUrl });
    } finally {
      await dev.close();
    }
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await rm(dir, { recursive: true, force: true });
  });
});

describe('token CLI', () => {
  const runCli = async (...args: string[]) => {
    const run = promisify(execFile);
    return run(process.execPath, ['--import', 'tsx', 'src/dev/token.cli.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, FLICK_DEV_ISSUER_FILE: keyFile },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
  };
  const usageErrorOf = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    tokenFromArgs(args, env).then(
      () => {
        throw new Error('no usage error');
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(UsageError);
        return (error as UsageError).message;
      },
    );

  it('prints only a token, which the running API accepts', async () => {
    const { code, stdout, stderr } = await runCli('--role', 'ops');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const response = await graphql('{ opsReport whoAmI }', `Bearer ${stdout.trim()}`);
    expect(response.body).toEqual({ data: { opsReport: 'all datasets fresh', whoAmI: 'dev-ops:ops' } });
  });

  it('gives a device token the profiles and country of the first sample account with several profiles', async () => {
    const token = await tokenFromArgs(['--role', 'device', '--accounts-file', accountsFile], {
      FLICK_DEV_ISSUER_FILE: keyFile,
    });
    const response = await graphql('{ myAccount { accountId profiles } }', `Bearer ${token}`);
    expect(response.body).toEqual({
      data: { myAccount: { accountId: 'a-family', profiles: ['p-1', 'p-2', 'p-3'] } },
    });
    const chosen = await tokenFromArgs(
      ['--role', 'device', '--account', 'a-solo', '--accounts-file', accountsFile, '--issuer-file', keyFile],
      {},
    );
    const solo = await graphql('{ myAccount { accountId profiles } }', `Bearer ${chosen}`);
    expect(solo.body).toEqual({ data: { myAccount: { accountId: 'a-solo', profiles: ['p-solo'] } } });
  });

  it('signs partner tokens with the partner id, and honours --expires', async () => {
    const token = await tokenFromArgs(['--role', 'partner', '--partner', 'studio-9', '--expires', '90s'], {
      FLICK_DEV_ISSUER_FILE: keyFile,
    });
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      number
    >;
    expect(claims).toMatchObject({ partner_id: 'studio-9', roles: ['partner'] });
    expect(claims['exp']! - claims['iat']!).toBe(90);
    expect((await graphql('{ whoAmI }', `Bearer ${token}`)).body).toEqual({
      data: { whoAmI: 'dev-partner-studio-9:partner' },
    });
  });

  it('exits 2 with a hint, printing nothing on stdout, when the demo is not running', async () => {
    const missing = join(workDir, 'missing.json');
    const { code, stdout, stderr } = await runCli('--role', 'ops', '--issuer-file', missing);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toContain('is the demo running? start it with npm run demo');
  });

  it('refuses bad options and stale key files with a clear message', async () => {
    const env = { FLICK_DEV_ISSUER_FILE: keyFile };
    expect(await usageErrorOf([], env)).toMatch(/--role must be one of device, marketing, partner, ops/);
    expect(await usageErrorOf(['--role', 'admin'], env)).toMatch(/--role must be one of/);
    expect(await usageErrorOf(['--role', 'partner'], env)).toBe('--role partner needs --partner <id>');
    expect(await usageErrorOf(['--role', 'ops', '--account', 'a-1'], env)).toBe(
      '--account cannot be used with --role ops',
    );
    expect(await usageErrorOf(['--role', 'ops', '--expires', 'soon'], env)).toMatch(/--expires must be/);
    expect(
      await usageErrorOf(['--role', 'device', '--account', 'nobody', '--accounts-file', accountsFile], env),
    ).toBe(`account nobody is not in ${accountsFile}`);
    expect(
      await usageErrorOf(['--role', 'device', '--accounts-file', join(workDir, 'none.json')], env),
    ).toMatch(/cannot read the sample accounts .* is the demo running/);

    const other = await startDevIssuer();
    const stale = join(workDir, 'stale.json');
    const current = JSON.parse(await readFile(keyFile, 'utf8')) as Record<string, unknown>;
    await writeFile(stale, JSON.stringify({ ...current, jwksUrl: other.jwksUrl }));
    expect(await usageErrorOf(['--role', 'ops', '--issuer-file', stale])).toMatch(/is stale/);
    await other.close();
    expect(await usageErrorOf(['--role', 'ops', '--issuer-file', stale])).toMatch(
      /does not answer: is the demo running/,
    );
  });
});
