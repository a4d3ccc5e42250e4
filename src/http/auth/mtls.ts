import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Principal } from '../../kernel/principal';
import { principalFor, type AppRegistry } from './apps';

/**
 * The identity recorded in the audit: the certificate's subject ("CN=payment-service, O=Acme"); for a
 * certificate with an empty subject (a SPIFFE SVID) its first URI SAN; failing both, its SHA-256
 * fingerprint. A verified certificate always yields a non-empty identity.
 */
function identityOf(cert: PeerCertificate): string {
  const subject = subjectOf(cert);
  if (subject) return subject;
  const uri = firstUriSan(cert);
  return uri ?? `sha256:${cert.fingerprint256.replace(/:/g, '').toLowerCase()}`;
}

function uriSans(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

function firstUriSan(cert: PeerCertificate): string | undefined {
  return uriSans(cert)[0];
}

function subjectOf(cert: PeerCertificate): string {
  return Object.entries(cert.subject ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}

export type MtlsResult = { principal: Principal } | { reason: string } | undefined;

/**
 * A client certificate is a credential only when the TLS layer verified it against the configured CA
 * (`socket.authorized`) and one declared app names it: its mtls_id equals one of the certificate's URI
 * SANs exactly (a full SPIFFE ID, trust domain and path) or its subject as the vault writes it
 * (`CN=payment-service, O=Acme`). No suffix, CN or path segment is ever taken as an app name. With
 * require_client_cert the handshake itself refuses an unverified certificate. Undefined when none was presented.
 */
export function createMtlsAuthenticator(registry: AppRegistry) {
  return function authenticateCertificate(socket: TLSSocket | undefined): MtlsResult {
    if (!socket || typeof socket.getPeerCertificate !== 'function') return undefined;
    const cert = socket.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return undefined;
    if (!socket.authorized) return { reason: 'untrusted_client_certificate' };
    const names = [...uriSans(cert), subjectOf(cert)].filter((n) => n !== '');
    if (names.some((n) => /[\u0000-\u001f\u007f]/.test(n))) return { reason: 'client_certificate_malformed_name' };
    const apps = registry.byMtlsNames(names);
    if (apps.length === 0) return { reason: 'client_certificate_unknown' };
    if (apps.length > 1) return { reason: 'client_certificate_ambiguous' };
    return { principal: principalFor(apps[0]!, 'mtls', identityOf(cert)) };
  };
}
