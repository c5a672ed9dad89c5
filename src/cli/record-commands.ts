// `agentroster record verify` and `agentroster keys rotate|list` (signed agent records).
//
//   agentroster record verify <jwt|FILE|-> [--jwks FILE|URL] [--status FILE|URL] [--issuer URL]
//       verifies signature, issuer, expiry and (with a status list) revocation, prints the claims;
//       exit status 0 when valid, 1 otherwise with the reason (ERR_RECORD_…) on stderr.
//       With --jwks FILE (and --status FILE) nothing is fetched: fully offline.
//       Without --jwks, keys and status list are fetched from the issuer (--issuer, else the
//       record's own iss, which is then reported as not pinned).
//   agentroster keys rotate    a new signing key signs from now on; the old one keeps verifying
//   agentroster keys list      the signing keys (never private material)

import { existsSync, readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { decodeJwt } from 'jose';
import { JWKS_PATH, STATUS_LIST_PATH } from '../agents/records/format.js';
import { RecordVerificationError, verifyRecord, type VerifyOptions } from '../agents/records/verify.js';
import { type Config, loadConfig } from '../config/config.js';
import { CLI_ACTOR } from '../http/tokens.js';
import { recordKeyManager } from '../records/index.js';
import { resolveRecordKek } from '../records/kek.js';
import { systemClock } from '../resources/context.js';
import { loadRegistry } from '../scim/load-schemas.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/types.js';

export interface VerifyCliOptions {
  jwks?: string;
  status?: string;
  issuer?: string;
  allowInactive?: boolean;
  requireStatus?: boolean;
  /** verify as of this time (RFC 3339), e.g. for an audit */
  at?: string;
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  fetch?: typeof fetch;
  readStdin?: () => Promise<string>;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const isUrl = (s: string) => /^https?:\/\//i.test(s);

class CliFailure extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readSource(what: string, src: string, io: CliIo): Promise<string> {
  if (isUrl(src)) {
    let res: Response;
    try {
      res = await (io.fetch ?? fetch)(src, { headers: { accept: 'application/jwk-set+json, application/jwt, application/json' } });
    } catch (e) {
      throw new CliFailure(`cannot fetch the ${what} from ${src}: ${(e as Error).message}`);
    }
    if (!res.ok) throw new CliFailure(`cannot fetch the ${what} from ${src}: HTTP ${res.status}`);
    return res.text();
  }
  try {
    return readFileSync(src, 'utf8');
  } catch (e) {
    throw new CliFailure(`cannot read the ${what} file ${src}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Runs `record verify`; returns the exit status (0 valid, 1 not). */
export async function runRecordVerify(jwtArg: string, o: VerifyCliOptions, io: CliIo): Promise<number> {
  try {
    let jwt = jwtArg;
    if (jwtArg === '-') jwt = await (io.readStdin ?? readStdin)();
    else if (!JWT_SHAPE.test(jwtArg.trim()) && existsSync(jwtArg)) jwt = readFileSync(jwtArg, 'utf8');
    jwt = jwt.trim();

    const now = o.at === undefined ? new Date() : new Date(o.at);
    if (Number.isNaN(now.getTime())) throw new CliFailure(`--at: "${o.at}" is not a date-time`);

    let base = o.issuer?.replace(/\/+$/, '');
    let jwksSrc = o.jwks;
    let statusSrc = o.status;
    if (jwksSrc === undefined) {
      // Online: keys (and the status list, unless given) from the issuer.
      if (base === undefined) {
        let iss: unknown;
        try {
          iss = decodeJwt(jwt).iss;
        } catch {
          iss = undefined;
        }
        if (typeof iss !== 'string' || !isUrl(iss)) {
          throw new RecordVerificationError('ERR_RECORD_MALFORMED', 'the record has no https issuer to fetch keys from; pass --jwks FILE|URL');
        }
        base = iss.replace(/\/+$/, '');
        io.err(`note: issuer ${base} is taken from the record itself and not pinned; pass --issuer to require it\n`);
      }
      jwksSrc = base + JWKS_PATH;
      statusSrc ??= base + STATUS_LIST_PATH;
    }
    let jwks: unknown;
    try {
      jwks = JSON.parse(await readSource('key set', jwksSrc, io));
    } catch (e) {
      if (e instanceof CliFailure) throw e;
      throw new RecordVerificationError('ERR_JWKS_INVALID', `the key set ${jwksSrc} is not JSON`);
    }
    const opts: VerifyOptions = { jwks: jwks as VerifyOptions['jwks'], now };
    if (o.issuer !== undefined) opts.issuer = o.issuer.replace(/\/+$/, '');
    if (statusSrc !== undefined) opts.statusList = (await readSource('status list', statusSrc, io)).trim();
    if (o.requireStatus) opts.requireStatus = true;
    if (o.allowInactive) opts.allowInactive = true;

    const v = await verifyRecord(jwt, opts);
    io.out(`${JSON.stringify({ valid: true, status: v.status, header: v.header, claims: v.claims }, null, 2)}\n`);
    io.err(
      `VALID: agent ${v.claims.sub} (${v.claims.agentUserName}), ${v.claims.lifecycleState}, version ${v.claims.version}, ` +
        `issued by ${v.claims.iss}, valid until ${new Date(v.claims.exp * 1000).toISOString()}` +
        (v.status === 'good' ? ', not revoked\n' : '\nwarning: revocation NOT checked (no --status list given)\n'),
    );
    return 0;
  } catch (e) {
    if (e instanceof RecordVerificationError) {
      io.err(`INVALID: ${e.code}: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CliFailure) {
      io.err(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

function dbOption() {
  return new Option('--database-url <url>', 'sqlite:PATH or postgres://… (env AGENTROSTER_DATABASE_URL)');
}

function configOf(opts: { databaseUrl?: string }): Config {
  return loadConfig(process.env, opts.databaseUrl === undefined ? {} : { databaseUrl: opts.databaseUrl });
}

async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(loadRegistry(), config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    ...(config.databaseSchema ? { pgSchema: config.databaseSchema } : {}),
    create: false, // commands other than serve and migrate never create a database
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `keys rotate`: checks the configured KEK against the current key first (a wrong one would
 * strand the new key), then rotates. Returns the lines printed. */
export async function rotateKeys(config: Config): Promise<{ active: string; retired?: string; verifyUntil?: string }> {
  const kek = resolveRecordKek(config);
  return withStore(config, async (store) => {
    const keys = recordKeyManager({ config, store, clock: systemClock, kek, actor: CLI_ACTOR });
    const hadActive = (await store.keys.list()).some((k) => k.status === 'active');
    const current = await keys.init(); // decrypts the active key (or creates the first one)
    if (!hadActive) return { active: current.kid };
    return keys.rotate();
  });
}

export function registerRecordCommands(program: Command): void {
  const io: CliIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

  const record = program.command('record').description('signed agent records');
  record
    .command('verify <jwt>')
    .description('verify a signed agent record (the JWT, a file holding it, or - for stdin); exit 0 if valid, 1 if not')
    .option('--jwks <fileOrUrl>', 'the issuer JWKS (file: offline); default: fetched from the issuer')
    .option('--status <fileOrUrl>', 'the signed status list (revocation); default: fetched from the issuer when --jwks is not given')
    .option('--issuer <url>', 'the expected issuer (iss); strongly recommended')
    .option('--require-status', 'fail when revocation cannot be checked')
    .option('--allow-inactive', 'accept records of agents that are not active')
    .option('--at <datetime>', 'verify as of this time (RFC 3339) instead of now')
    .action(async (jwt: string, opts: VerifyCliOptions) => {
      process.exitCode = await runRecordVerify(jwt, opts, io);
    });

  const keys = program.command('keys').description('record signing keys');
  keys
    .command('rotate')
    .description('make a new key sign records; old keys stay in the JWKS until their records have expired')
    .addOption(dbOption())
    .action(async (opts: { databaseUrl?: string }) => {
      const r = await rotateKeys(configOf(opts));
      if (r.retired === undefined) io.out(`created signing key ${r.active} (there was none)\n`);
      else io.out(`new signing key ${r.active}; ${r.retired} retired, published until ${r.verifyUntil}\n`);
      io.err('running servers switch to the new key within 30 seconds\n');
    });
  keys
    .command('list')
    .description('list the record signing keys (never their private parts)')
    .addOption(dbOption())
    .action(async (opts: { databaseUrl?: string }) => {
      const config = configOf(opts);
      await withStore(config, async (store) => {
        const now = Date.now();
        for (const k of await store.keys.list()) {
          const published = k.status === 'active' || (k.verifyUntil !== undefined && Date.parse(k.verifyUntil) > now);
          io.out(
            `${k.kid}  ${k.alg}  ${k.status}  created ${k.createdAt}` +
              (k.retiredAt ? `  retired ${k.retiredAt}` : '') +
              (k.verifyUntil ? `  verifies until ${k.verifyUntil}` : '') +
              (published ? '  in JWKS' : '  (no longer published)') +
              '\n',
          );
        }
      });
    });
}
