/**
 * TLS material for the Graph/Entra emulator.
 *
 * A test CA is generated once and cached under os.tmpdir() so that a CA path can be handed to
 * child processes (and to vitest workers) through NODE_EXTRA_CA_CERTS, which Node reads only at
 * process start. The server certificate (SAN: localhost, 127.0.0.1, ::1) is signed by that CA.
 * Several processes may start at once, so generation is guarded by an exclusive lock file.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generate } from 'selfsigned';

export interface CaMaterial {
  caCertPem: string;
  caKeyPem: string;
  caCertPath: string;
  serverCertPem: string;
  serverKeyPem: string;
}

/** Default cache directory; bump the suffix if the layout changes. */
export function defaultCaDir(): string {
  return path.join(os.tmpdir(), 'agentroster-graph-emulator-v1');
}

const DAY_MS = 86_400_000;

/** Returns the cached CA + server certificate, generating them if missing or about to expire. */
export async function ensureCa(dir: string = defaultCaDir()): Promise<CaMaterial> {
  await mkdir(dir, { recursive: true });
  const cached = await readValid(dir);
  if (cached) return cached;
  const lock = path.join(dir, 'generate.lock');
  await acquireLock(lock);
  try {
    const again = await readValid(dir);
    if (again) return again;
    const material = await generateMaterial(dir);
    await atomicWrite(path.join(dir, 'ca.key'), material.caKeyPem);
    await atomicWrite(path.join(dir, 'server.key'), material.serverKeyPem);
    await atomicWrite(path.join(dir, 'server.pem'), material.serverCertPem);
    await atomicWrite(path.join(dir, 'ca.pem'), material.caCertPem); // written last: marks completion
    return material;
  } finally {
    await rm(lock, { force: true });
  }
}

async function readValid(dir: string): Promise<CaMaterial | undefined> {
  try {
    const [caCertPem, caKeyPem, serverCertPem, serverKeyPem] = await Promise.all(
      ['ca.pem', 'ca.key', 'server.pem', 'server.key'].map((f) => readFile(path.join(dir, f), 'utf8')),
    );
    if (!caCertPem || !caKeyPem || !serverCertPem || !serverKeyPem) return undefined;
    const ca = new X509Certificate(caCertPem);
    const server = new X509Certificate(serverCertPem);
    const soon = Date.now() + DAY_MS;
    if (Date.parse(ca.validTo) < soon || Date.parse(server.validTo) < soon) return undefined;
    if (!server.checkIssued(ca) || !server.verify(ca.publicKey)) return undefined;
    return { caCertPem, caKeyPem, caCertPath: path.join(dir, 'ca.pem'), serverCertPem, serverKeyPem };
  } catch {
    return undefined;
  }
}

async function generateMaterial(dir: string): Promise<CaMaterial> {
  const now = new Date(Date.now() - 60_000);
  const ca = await generate([{ name: 'commonName', value: 'agentroster Graph emulator test CA' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + 5 * 365 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + 365 * DAY_MS),
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return {
    caCertPem: ca.cert,
    caKeyPem: ca.private,
    caCertPath: path.join(dir, 'ca.pem'),
    serverCertPem: server.cert,
    serverKeyPem: server.private,
  };
}

async function atomicWrite(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, file);
}

async function acquireLock(lock: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > 30_000) await rm(lock, { force: true }); // stale
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await sleep(50);
    }
  }
}

/**
 * NODE_EXTRA_CA_CERTS names one file. If the environment already points at a bundle, write a new
 * bundle (that file + the emulator CA) next to the CA and return its path; otherwise the CA path.
 */
export async function caBundleFor(existing: string | undefined, dir: string = defaultCaDir()): Promise<string> {
  const ca = await ensureCa(dir);
  if (!existing || path.resolve(existing) === path.resolve(ca.caCertPath)) return ca.caCertPath;
  const extra = await readFile(existing, 'utf8').catch(() => '');
  if (extra.includes(ca.caCertPem.trim())) return existing;
  const content = `${extra.trimEnd()}\n${ca.caCertPem.trim()}\n`;
  const file = path.join(dir, `bundle-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.pem`);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current !== content) await atomicWrite(file, content);
  return file;
}

/** A client certificate + key for certificate-credential tests (private_key_jwt). */
export interface ClientCertificate {
  certPem: string;
  keyPem: string;
  /** hex SHA-256 of the DER certificate, as MSAL's `thumbprintSha256` expects */
  thumbprintSha256: string;
  /** hex SHA-1 of the DER certificate (legacy `thumbprint`) */
  thumbprintSha1: string;
}

export async function generateClientCertificate(commonName = 'agentroster-test-client'): Promise<ClientCertificate> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + 30 * DAY_MS),
  });
  const der = new X509Certificate(pems.cert).raw;
  return {
    certPem: pems.cert,
    keyPem: pems.private,
    thumbprintSha256: createHash('sha256').update(der).digest('hex'),
    thumbprintSha1: createHash('sha1').update(der).digest('hex'),
  };
}
