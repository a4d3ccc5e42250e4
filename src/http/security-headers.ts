/**
 * The security headers on every response, set by the listener (server.ts) on Node's response object
 * before the app runs, so the app's own headers merge over them in one writeHead. (Hono's secureHeaders
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
