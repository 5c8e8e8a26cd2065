import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { ApiError } from '../domain/errors.ts';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Every address a host name resolves to (the system resolver by default; tests inject their own). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** A host that resolves to an address the policy refuses. Not worth retrying. */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
}

export interface EndpointPolicyOptions {
  /** PUSH_ALLOW_PRIVATE_NETWORKS: allowed hosts may resolve to private and loopback addresses. */
  allowPrivateNetworks?: boolean;
  resolver?: Resolver;
}

/**
 * Which push endpoints the server may POST to. Endpoints come from browsers, so every one is a URL a client
 * supplied: it must be https on an allowed host (PUSH_ENDPOINT_HOSTS), name a host rather than an address, and
 * resolve to public addresses only (checked again at send time, so DNS rebinding cannot point it inside). With
 * PUSH_ALLOW_PRIVATE_NETWORKS, an allowed host may also resolve to a private or loopback address (a push service
 * run inside the operator's own network); every other special-use range stays refused.
 */
export class EndpointPolicy {
  private readonly allowPrivateNetworks: boolean;
  private readonly resolver: Resolver;

  constructor(
    private readonly hosts: readonly string[],
    options: EndpointPolicyOptions = {},
  ) {
    this.allowPrivateNetworks = options.allowPrivateNetworks ?? false;
    this.resolver = options.resolver ?? systemResolver;
  }

  /**
   * The endpoint in its one canonical form (lowercase host, no trailing dot, no default port, no fragment), so
   * that variants a client may send are one subscription. Throws validation_failed naming `field` when the
   * endpoint is not allowed.
   */
  check(endpoint: string, field = 'subscription.endpoint'): URL {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw refuse(field, 'an absolute https URL');
    }
    if (url.protocol !== 'https:') throw refuse(field, 'must be https');
    if (url.username || url.password) throw refuse(field, 'must not carry credentials');
    // The URL parser already lowercases the host, turns numeric forms of IPv4 into dotted quads and drops :443.
    const host = url.hostname.replace(/\.$/, '');
    if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) throw refuse(field, 'must name a host, not an IP address');
    const port = url.port || '443';
    if (!this.hosts.some((pattern) => hostMatches(pattern, host, port))) throw refuse(field, `host ${host} is not an allowed push service`);
    url.hostname = host;
    url.hash = '';
    return url;
  }

  /** Resolves the endpoint's host and returns an address that is safe to connect to. */
  async resolve(hostname: string): Promise<ResolvedAddress> {
    const addresses = await this.resolver(hostname);
    if (addresses.length === 0) throw new Error(`${hostname} does not resolve`);
    for (const a of addresses) {
      const kind = addressClass(a.address);
      const allowed = kind === 'unicast' || (this.allowPrivateNetworks && PRIVATE_NETWORKS.has(kind));
      if (!allowed) throw new BlockedAddressError(`${hostname} resolves to a non-public address (${a.address}: ${kind})`);
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

/** What PUSH_ALLOW_PRIVATE_NETWORKS opens: RFC 1918, IPv6 unique local (fc00::/7) and loopback. */
const PRIVATE_NETWORKS = new Set(['private', 'uniqueLocal', 'loopback']);

/** IANA's global unicast space for IPv6; anything outside it is special-use or unallocated. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * The special-use class of an address as ipaddr.js names it (`private`, `loopback`, `linkLocal`, `reserved`,
 * `6to4`, `rfc6052` for NAT64, `benchmarking`, `multicast`...), or `unicast` for an ordinary public address. An
 * IPv4-mapped IPv6 address is classed as the IPv4 address it carries; an IPv6 address outside 2000::/3 that has
 * no class of its own (such as the deprecated IPv4-compatible ::a.b.c.d) is `unallocated`.
 */
export function addressClass(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  const ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv4') return ip.range();
  const v6 = ip as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().range();
  const kind = v6.range();
  return kind === 'unicast' && !v6.match(GLOBAL_UNICAST_V6) ? 'unallocated' : kind;
}
