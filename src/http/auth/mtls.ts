import type { PeerCertificate, TLSSocket } from 'node:tls';
import { APP_NAME_PATTERN, type VaultConfig } from '../../config/config-schema';
import type { Principal, Role } from '../../domain/principal';

type MtlsConfig = NonNullable<VaultConfig['auth']['mtls']>;

/**
 * The identity recorded in the audit: the certificate's subject ("CN=payment-service, O=Acme"); for a
 * certificate with an empty subject (a SPIFFE SVID) its first URI SAN; failing both, its SHA-256
 * fingerprint. A verified certificate always yields a non-empty identity.
 */
function identityOf(cert: PeerCertificate): string {
  const subject = Object.entries(cert.subject ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
  if (subject) return subject;
  const uri = firstUriSan(cert);
  return uri ?? `sha256:${cert.fingerprint256.replace(/:/g, '').toLowerCase()}`;
}

function firstUriSan(cert: PeerCertificate): string | undefined {
  return (cert.subjectaltname ?? '')
    .split(', ')
    .find((s) => s.startsWith('URI:'))
    ?.slice(4);
}

/** The app a certificate names: its CN, or the last path segment of its first URI SAN (SPIFFE style). */
function appOf(cert: PeerCertificate, from: MtlsConfig['app_from']): string | undefined {
  if (from === 'cn') {
    const cn = cert.subject?.CN;
    return Array.isArray(cn) ? undefined : cn;
  }
  const uri = firstUriSan(cert);
  if (!uri) return undefined;
  try {
    return new URL(uri).pathname.split('/').filter(Boolean).pop();
  } catch {
    return undefined;
  }
}

export type MtlsResult = { principal: Principal } | { reason: string } | undefined;

/**
 * A client certificate is a credential only when the TLS layer verified it against the configured CA
 * (`socket.authorized`); with require_client_cert the handshake itself refuses anything else, so such a
 * connection never reaches a route. Undefined when no certificate was presented.
 */
export function createMtlsAuthenticator(config: MtlsConfig | undefined) {
  const settings: MtlsConfig = config ?? { app_from: 'cn', admin_apps: [], auditor_apps: [], purposes: {} };
  return function authenticateCertificate(socket: TLSSocket | undefined): MtlsResult {
    if (!socket || typeof socket.getPeerCertificate !== 'function') return undefined;
    const cert = socket.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return undefined;
    if (!socket.authorized) return { reason: 'untrusted_client_certificate' };
    const app = appOf(cert, settings.app_from);
    if (!app || !APP_NAME_PATTERN.test(app)) return { reason: 'client_certificate_without_app' };
    const roles: Role[] = [];
    if (settings.admin_apps.includes(app)) roles.push('admin');
    if (settings.auditor_apps.includes(app)) roles.push('auditor');
    const principal: Principal = { kind: 'principal', app, roles, method: 'mtls', identity: identityOf(cert) };
    const purposes = settings.purposes[app];
    if (purposes) principal.purposes = purposes;
    return { principal };
  };
}
