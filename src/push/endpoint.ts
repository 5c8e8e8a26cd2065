import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ApiError } from '../domain/errors.ts';

/**
 * Which push endpoints the server may POST to. Endpoints come from browsers, so every one is a URL a client
 * supplied: it must be https on an allowed host (PUSH_ENDPOINT_HOSTS), name a host rather than an address, and
 * resolve to public addresses only (checked again at send time, so DNS rebinding cannot point it inside).
 */
export class EndpointPolicy {
  constructor(
    private readonly hosts: readonly string[],
    /** Tests only: the local push service listens on loopback. Never set from configuration. */
    private readonly allowPrivateAddresses = false,
  ) {}

  /** Throws validation_failed naming `field` when the endpoint is not allowed. */
  check(endpoint: string, field = 'subscription.endpoint'): URL {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw refuse(field, 'an absolute https URL');
    }
    if (url.protocol !== 'https:') throw refuse(field, 'must be https');
    if (url.username || url.password) throw refuse(field, 'must not carry credentials');
    const host = url.hostname.toLowerCase().replace(/\.$/, '');
    if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) throw refuse(field, 'must name a host, not an IP address');
    const port = url.port || '443';
    if (!this.hosts.some((pattern) => hostMatches(pattern, host, port))) throw refuse(field, `host ${host} is not an allowed push service`);
    return url;
  }

  /** Resolves the endpoint's host and returns an address that is safe to connect to. */
  async resolve(hostname: string): Promise<{ address: string; family: number }> {
    const addresses = await lookup(hostname, { all: true, verbatim: true });
    if (addresses.length === 0) throw new Error(`${hostname} does not resolve`);
    for (const a of addresses) {
      if (!this.allowPrivateAddresses && isPrivateAddress(a.address)) throw new Error(`${hostname} resolves to a non-public address (${a.address})`);
    }
    return addresses[0]!;
  }
}

function refuse(field: string, message: string): ApiError {
  return new ApiError('validation_failed', `The push endpoint is not allowed: ${message}.`, [{ field, message }]);
}

/** `host`, `host:port` or `*.domain` (any subdomain of domain, not domain itself), on the parsed hostname. */
export function hostMatches(pattern: string, host: string, port: string): boolean {
  const [pHost, pPort] = pattern.toLowerCase().split(':') as [string, string | undefined];
  if ((pPort ?? '443') !== port) return false;
  if (pHost.startsWith('*.')) return host.endsWith(pHost.slice(1)) && host.length > pHost.length - 1;
  return host === pHost;
}

/** Loopback, private, link-local, carrier-grade NAT, unspecified, multicast and reserved ranges, v4 and v6. */
export function isPrivateAddress(address: string): boolean {
  if (isIP(address) === 6) {
    const a = address.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
    if (mapped) return isPrivateAddress(mapped[1]!);
    return a === '::' || a === '::1' || /^f[cd]/.test(a) || /^fe[89ab]/.test(a) || /^ff/.test(a) || a.startsWith('64:ff9b:') || a.startsWith('2001:db8');
  }
  const [a, b] = address.split('.').map(Number) as [number, number];
  return (
    a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19))
  );
}
