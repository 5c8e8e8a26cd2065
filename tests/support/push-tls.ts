import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The local push service's TLS material, trusted the way an operator trusts a private push service: its CA is
 * in NODE_EXTRA_CA_CERTS. Node reads that variable only when a process starts, so it must be set before the
 * process that sends pushes is launched; making it inside a test file is too late.
 *
 * Under vitest this is done by tests/support/global-setup.ts: globalSetup runs in the main vitest process before
 * any worker is forked, and vitest 4 forks its workers (pool `forks`) with a copy of the main process's
 * environment, so every test file's process trusts the CA from its first line. Outside vitest (the push bench),
 * `withPushTls` re-runs the current script with the variables set.
 */
export const TLS_DIR_VARIABLE = 'PUSH_SERVICE_TLS_DIR';

export interface PushTls {
  dir: string;
  /** A file for NODE_EXTRA_CA_CERTS: the test CA, after the CAs already there, if any. */
  caBundle: string;
  cert: string;
  key: string;
}

/** Makes a CA and a certificate it signs for `localhost`, valid two days, in a new temporary directory. */
export function makePushTls(): PushTls {
  const dir = mkdtempSync(join(tmpdir(), 'push-tls-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=newspush test push service CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', f('ca-key.pem'), '-out', f('ca.pem'));
  openssl('req', ...ec, '-subj', '/CN=localhost', '-keyout', f('key.pem'), '-out', f('cert.csr'));
  writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', f('cert.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f('cert.pem'));
  // NODE_EXTRA_CA_CERTS names one file: keep whatever it already trusted.
  const previous = process.env.NODE_EXTRA_CA_CERTS;
  const before = previous && existsSync(previous) ? readFileSync(previous, 'utf8') + '\n' : '';
  writeFileSync(f('bundle.pem'), before + readFileSync(f('ca.pem'), 'utf8'));
  return { dir, caBundle: f('bundle.pem'), cert: f('cert.pem'), key: f('key.pem') };
}

/** Sets the variables for processes started from now on (NODE_EXTRA_CA_CERTS, and where PushService finds its key). */
export function exportPushTls(tls: PushTls): void {
  process.env.NODE_EXTRA_CA_CERTS = tls.caBundle;
  process.env[TLS_DIR_VARIABLE] = tls.dir;
}

export function removePushTls(tls: PushTls): void {
  rmSync(tls.dir, { recursive: true, force: true });
}

/** The certificate and key PushService serves, from the directory the current process was started with. */
export function readPushTls(): { cert: Buffer; key: Buffer } {
  const dir = process.env[TLS_DIR_VARIABLE];
  if (!dir) {
    throw new Error(`${TLS_DIR_VARIABLE} is not set: run the tests through vitest (tests/support/global-setup.ts makes the certificate and sets NODE_EXTRA_CA_CERTS before the workers start)`);
  }
  return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
}

/**
 * For scripts outside vitest (the push bench): in a process started without the variables, makes the TLS
 * material, runs the same script again in a child process started with them, waits for it, cleans up and
 * answers false (the caller then stops; the exit code is the child's). In the child, answers true at once.
 */
export async function ensurePushTls(): Promise<boolean> {
  if (process.env[TLS_DIR_VARIABLE]) return true;
  const tls = makePushTls();
  exportPushTls(tls);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  removePushTls(tls);
  process.exitCode = code;
  return false;
}
