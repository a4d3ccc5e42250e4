import { type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * The security headers on every response, added by the listener's response class (`securedResponse`,
 * used by server.ts) when the head is written, under the app's own headers. (Hono's secureHeaders
 * middleware set the same list through a fetch Headers object after every handler: ~15 µs a request.)
 * A JSON API is never framed, never sniffed, never cached by a referrer; HSTS only where TLS is served.
 */
export function securityHeaders(tls: boolean): ReadonlyArray<readonly [string, string]> {
  return [
    ['Content-Security-Policy', CONTENT_SECURITY_POLICY],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ['Cross-Origin-Resource-Policy', 'same-origin'],
    ['Origin-Agent-Cluster', '?1'],
    ['Referrer-Policy', 'no-referrer'],
    ...(tls ? [['Strict-Transport-Security', 'max-age=31536000'] as const] : []),
    ['X-Content-Type-Options', 'nosniff'],
    ['X-DNS-Prefetch-Control', 'off'],
    ['X-Download-Options', 'noopen'],
    ['X-Frame-Options', 'DENY'],
    ['X-Permitted-Cross-Domain-Policies', 'none'],
    ['X-XSS-Protection', '0'],
  ];
}

type HeadArgument = string | OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined;

/**
 * Node's response class for the listener: writing the head adds the security headers, and a header of
 * the same name (any case) from the app replaces the listener's, as it did over setHeader. The app's
 * adapter hands its headers to one writeHead call; written there as one flat list, they stay on Node's
 * fast path. (setHeader per request put every response on the slow one: each security header, then each
 * of the app's, validated, lowercased and stored as a pair first: ~3.5 KB of garbage a request. A merged
 * object is no better: past a dozen names V8 keeps it as a hash table, ~4 KB. The flat list: ~0.3 KB.)
 */
export function securedResponse(tls: boolean) {
  const headers = securityHeaders(tls);
  // A security header's index by its name as written and lowercased; only names of those lengths can match.
  const indexOf = new Map(headers.flatMap(([name], i) => [[name, i] as const, [name.toLowerCase(), i] as const]));
  const lengths = new Set(headers.map(([name]) => name.length));
  const securityIndex = (name: string) => indexOf.get(name) ?? (lengths.has(name.length) ? indexOf.get(name.toLowerCase()) : undefined);

  /** The security headers the app does not set, then the app's, as [name, value, name, value, …]. */
  const headWith = (own: OutgoingHttpHeaders): OutgoingHttpHeader[] => {
    let count = 0;
    let replaced: Set<number> | undefined;
    for (const name in own) {
      count++;
      const i = securityIndex(name);
      if (i !== undefined) (replaced ??= new Set()).add(i);
    }
    const head = new Array<OutgoingHttpHeader>(2 * (headers.length - (replaced?.size ?? 0) + count));
    let at = 0;
    for (let i = 0; i < headers.length; i++) {
      if (replaced?.has(i)) continue;
      head[at++] = headers[i]![0];
      head[at++] = headers[i]![1];
    }
    // An undefined value is left for Node to refuse, as it would in an object.
    for (const name in own) {
      head[at++] = name;
      head[at++] = own[name] as OutgoingHttpHeader;
    }
    return head;
  };

  return class SecuredResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
    override writeHead(statusCode: number, reason?: HeadArgument, given?: HeadArgument): this {
      const statusMessage = typeof reason === 'string' ? reason : undefined;
      const own = statusMessage === undefined ? reason : given;
      if (typeof own === 'string') throw new TypeError('writeHead: headers must be an object or an array');
      let head: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined = own;
      if (Array.isArray(own) || this.getHeaderNames().length > 0) {
        // Headers set one by one before, or a list: Node merges what is given over what is set.
        for (const [name, value] of headers) if (!this.hasHeader(name)) this.setHeader(name, value);
      } else {
        head = headWith(own ?? {});
      }
      return statusMessage === undefined ? super.writeHead(statusCode, head) : super.writeHead(statusCode, statusMessage, head);
    }
  };
}

/** Every response's policy: nothing may be loaded, nothing may frame it. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * The same policy for one self-contained HTML document (the compliance report's page, which sets it on its
 * own response, over the listener's): its one inline stylesheet is allowed by SHA-256 and nothing else —
 * still no script, no other style, no image, no font, no frame, no form, no <base>.
 */
export function documentSecurityPolicy(styleSha256: string): string {
  return `${CONTENT_SECURITY_POLICY}; style-src 'sha256-${styleSha256}'; base-uri 'none'; form-action 'none'`;
}
