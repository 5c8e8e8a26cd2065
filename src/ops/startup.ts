import type { NetworkInterfaceInfo } from 'node:os';

export interface StartupInfo {
  /** The address the server is bound to (0.0.0.0 or :: for every interface) and its port. */
  address: string;
  port: number;
  engine: string;
  /** The generated publisher key, when none was configured. */
  generatedKey: string | null;
  /** os.networkInterfaces(): the other addresses a wildcard bind can be reached at. */
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

function origin(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The base URLs a person can open: localhost first, then this machine's other IPv4 addresses. */
export function reachableOrigins(address: string, port: number, interfaces: StartupInfo['interfaces']): string[] {
  const wildcard = address === '0.0.0.0' || address === '::';
  if (!wildcard) return [origin(address === '127.0.0.1' || address === '::1' ? 'localhost' : address, port)];
  const lan = Object.values(interfaces)
    .flat()
    .filter((i): i is NetworkInterfaceInfo => !!i && i.family === 'IPv4' && !i.internal)
    .map((i) => origin(i.address, port));
  return [origin('localhost', port), ...new Set(lan)];
}

/**
 * What start-up prints for people (not as a JSON log line): where the pages and the API are and, when one was
 * made, the publisher key to paste into the README's commands.
 */
export function startupMessage(info: StartupInfo): string {
  const [local, ...others] = reachableOrigins(info.address, info.port, info.interfaces);
  const engine = info.engine === 'memory' ? 'memory engine (REDIS_URL unset: nothing survives a restart)' : `${info.engine} engine`;
  const lines = [
    '',
    `newspush is running: ${engine}`,
    '',
    `  Alerts page       ${local}/`,
    `  Newsroom console  ${local}/newsroom.html`,
    `  API               ${local}/api/v1/openapi.json  (OpenAPI 3.1: every route, with its schemas)`,
    ...others.map((o, i) => `  ${i === 0 ? 'On your network' : '               '}   ${o}/`),
    '',
  ];
  if (info.generatedKey) {
    lines.push(
      `No PUBLISHER_KEYS set: this run's publisher key is`,
      '',
      `  ${info.generatedKey}`,
      '',
      'Use it as: Authorization: Bearer <key>   (or: export NEWSPUSH_KEY=<key> for the newspush CLI)',
      '',
    );
  }
  return lines.join('\n');
}
