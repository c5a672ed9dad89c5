#!/usr/bin/env node
// The agentroster command line (design.md "Contracts"): serve, token create|list|revoke, migrate.

import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { buildAgentroster } from '../app.js';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { createHttpServer, listen, serverLimitsFromConfig } from '../http/server.js';
import { CLI_ACTOR, createToken, ensureBootstrapToken, parseScopes, parseTtl, revokeToken } from '../http/tokens.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, setVerbose, withCliStore } from './cli-support.js';
import { registerGovernanceCommands } from './governance-commands.js';
import { registerRecordCommands } from './record-commands.js';
import { registerSyncCommands } from './sync-commands.js';
import { ScimError } from '../scim/errors.js';
import { NoDatabaseError } from '../store/open-store.js';
import type { Store } from '../store/types.js';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const program = new Command();
program
  .name('agentroster')
  .description('System of record for AI agents: SCIM 2.0 server and governance')
  .version(packageVersion(), '--version', 'print the version')
  .option('--verbose', 'log at info (AGENTROSTER_LOG_LEVEL) to stderr; CLI commands other than serve log warnings only')
  .showHelpAfterError()
  // usage errors exit 2 (design.md: 0 ok, 1 refused or failed, 2 usage); set before the commands
  // are added, so that every subcommand inherits it
  .exitOverride();
program.hook('preAction', (_program, action) => setVerbose(Boolean(action.optsWithGlobals().verbose)));

function dbOption() {
  return new Option('--database-url <url>', 'sqlite:PATH or postgres://… (env AGENTROSTER_DATABASE_URL)');
}

function configFrom(opts: { databaseUrl?: string; port?: string }): Config {
  const flags: Partial<Record<keyof Config, unknown>> = {};
  if (opts.databaseUrl !== undefined) flags.databaseUrl = opts.databaseUrl;
  if (opts.port !== undefined) flags.port = opts.port;
  return loadConfig(process.env, flags);
}

/** A command on the existing database: refuses to create one (serve and migrate do that). */
async function withStore<T>(opts: { databaseUrl?: string }, fn: (store: Store) => Promise<T>, create = false): Promise<T> {
  return withCliStore(configFrom(opts), fn, { create });
}

/** --ttl: milliseconds, or 'never' (commander turns a null from a parser into '') */
function ttlOption(value: string): number | 'never' {
  try {
    return parseTtl(value) ?? 'never';
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--ttl "[^"]*": /, ''));
  }
}

program
  .command('serve')
  .description('run the SCIM server')
  .addOption(dbOption())
  .option('--port <port>', 'TCP port (env AGENTROSTER_PORT, default 8080)')
  .action(async (opts: { databaseUrl?: string; port?: string }) => {
    const config = configFrom(opts);
    const ar = await buildAgentroster(config);
    const server = createHttpServer(ar.app, serverLimitsFromConfig(config), ar.logger);
    try {
      await listen(server, config.port, config.host);
    } catch (e) {
      // Nothing is served: stop what buildAgentroster started; the message goes to stderr, exit 1.
      await ar.close().catch(() => undefined);
      throw e;
    }
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    ar.logger.info({ port, database: config.databaseUrl.replace(/\/\/[^@]*@/, '//***@') }, 'agentroster listening');
    await offerBootstrapToken(ar, port);
    const stop = () => {
      server.close(() => void ar.close().then(() => process.exit(0)));
      setTimeout(() => process.exit(0), 5000).unref();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

/**
 * First start (no token at all): an admin token for the quickstart, written to the terminal only.
 * Never through the logger or into a pipe: stdout/stderr of a service go to log collectors. With
 * no terminal attached none is created (nobody could read it), and the log says how to make one.
 */
async function offerBootstrapToken(ar: Awaited<ReturnType<typeof buildAgentroster>>, port: number): Promise<void> {
  const terminal = process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
  if (terminal === undefined) {
    if ((await ar.store.tokens.count()) === 0) {
      ar.logger.warn(
        'no bearer token exists yet; no bootstrap admin token was created because no terminal is attached to show it. ' +
          'Create one with: agentroster token create --name admin --scopes admin',
      );
    }
    return;
  }
  const boot = await ensureBootstrapToken(ar.store);
  if (!boot) return;
  // Shown once, on first start only: the token is not stored in clear anywhere.
  terminal.write(
    `\nBootstrap admin token (shown once; store it now):\n\n  ${boot.token}\n\n` +
      `Try: curl -H "Authorization: Bearer ${boot.token}" http://localhost:${port}/scim/v2/ServiceProviderConfig\n\n`,
  );
}

const token = program.command('token').description('manage bearer tokens');
token
  .command('create')
  .description('create a bearer token and print it once')
  .requiredOption('--name <name>', 'a name for the client (recorded as the actor in the audit log)')
  .requiredOption('--scopes <scopes>', 'comma-separated: scim.read, scim.write, scim.revoke, agents.approve, admin')
  .option('--user <userId>', 'bind the token to an active human User id (recorded as the actor of its grants and approvals)')
  .option('--ttl <ttl>', 'lifetime: a number with s, m, h or d (e.g. 90d, 12h), or never; default 90d', ttlOption)
  .addOption(dbOption())
  .action(async (opts: { name: string; scopes: string; user?: string; ttl?: number | 'never'; databaseUrl?: string }) => {
    const scopes = parseScopes(opts.scopes);
    await withStore(opts, async (store) => {
      const t = await createToken(store, opts.name, scopes, {
        actor: CLI_ACTOR,
        ...(opts.user !== undefined ? { userId: opts.user } : {}),
        ...(opts.ttl !== undefined ? { ttlMs: opts.ttl === 'never' ? null : opts.ttl } : {}),
      });
      process.stdout.write(`${t.token}\n`);
      if (t.expiresAt === undefined) {
        process.stderr.write(`warning: token "${t.name}" never expires; revoke it when it is no longer needed (agentroster token revoke ${t.name})\n`);
      }
      process.stderr.write(
        `token "${t.name}" (${t.id}) created with scopes ${t.scopes.join(',')}${opts.user ? ` bound to User ${opts.user}` : ''}, ` +
          `${t.expiresAt ? `expires ${t.expiresAt}` : 'never expires'}; it is shown only once\n`,
      );
    });
  });
token
  .command('list')
  .description('list tokens (never their values), with their expiry')
  .option('--json', 'one JSON object per token (without the hash)')
  .addOption(dbOption())
  .action(async (opts: { databaseUrl?: string; json?: boolean }) => {
    await withStore(opts, async (store) => {
      const now = Date.now();
      for (const t of await store.tokens.list()) {
        const expired = t.expiresAt !== undefined && Date.parse(t.expiresAt) <= now;
        if (opts.json) {
          const { hash: _hash, expiryRecordedAt: _recorded, ...shown } = t;
          process.stdout.write(`${JSON.stringify({ ...shown, expiresAt: t.expiresAt ?? null, expired })}\n`);
          continue;
        }
        const expiry = t.expiresAt === undefined ? 'expires never (NO EXPIRY: rotate it)' : `${expired ? 'EXPIRED' : 'expires'} ${t.expiresAt}`;
        process.stdout.write(
          `${t.id}  ${t.name}  ${t.scopes.join(',')}${t.userId ? `  user ${t.userId}` : ''}  created ${t.created}  ${expiry}  last used ${t.lastUsed ?? 'never'}${t.revoked ? '  REVOKED' : ''}\n`,
        );
      }
    });
  });
token
  .command('revoke <idOrName>')
  .description('revoke a token by id or name')
  .addOption(dbOption())
  .action(async (idOrName: string, opts: { databaseUrl?: string }) => {
    await withStore(opts, async (store) => {
      if (!(await revokeToken(store, idOrName, CLI_ACTOR))) throw new ScimError(404, `no token "${idOrName}"`);
      process.stderr.write(`token "${idOrName}" revoked\n`);
    });
  });

program
  .command('migrate')
  .description('create or upgrade the database schema, then exit')
  .addOption(dbOption())
  .action(async (opts: { databaseUrl?: string }) => {
    await withStore(
      opts,
      async () => {
        process.stderr.write('database is up to date\n');
      },
      true,
    );
  });

registerRecordCommands(program);
registerGovernanceCommands(program);
registerSyncCommands(program);

program.parseAsync(process.argv).then(
  () => undefined, // exit status: process.exitCode (0 unless a command set it); serve keeps running
  (e: unknown) => {
    if (e instanceof CommanderError) {
      // help and --version end with exit code 0; every other commander error is a usage error
      // (commander has printed it already)
      process.exit(e.exitCode === 0 ? EXIT_OK : EXIT_USAGE);
    }
    const known = e instanceof ConfigError || e instanceof ScimError || e instanceof NoDatabaseError;
    process.stderr.write(`agentroster: ${known || e instanceof Error ? (e as Error).message : String(e)}\n`);
    process.exit(EXIT_FAILED);
  },
);
