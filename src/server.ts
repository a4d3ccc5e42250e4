import { serve, type ServerType } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { securedResponse } from './http/security-headers';
import { isLoopback, splitListenAddr, type VaultConfig } from './config/config-schema';
import { ConfigError } from './config/load-config';

export interface Listening {
  server: ServerType;
  address: string;
  port: number;
  tls: boolean;
}

function read(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`server.${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/**
 * Starts the listener the configuration asks for: HTTPS when tls_cert_file/tls_key_file are set (asking
 * for a client certificate when tls_client_ca_file is, and refusing the handshake without a trusted one
 * when require_client_cert is), plain HTTP otherwise — but never plain HTTP on a non-loopback address
 * unless allow_plaintext says so. Header size and request time are bounded by the listener itself, and
 * every response carries the security headers (http/security-headers.ts).
 */
export async function startListener(
  fetch: (request: Request, env: unknown) => Response | Promise<Response>,
  config: Readonly<VaultConfig>,
): Promise<Listening> {
  const { host, port } = splitListenAddr(config.server.listen_addr);
  const s = config.server;
  if (!s.tls_cert_file && !isLoopback(host) && !s.allow_plaintext) {
    throw new ConfigError(
      `refusing to listen on ${config.server.listen_addr} without TLS: set server.tls_cert_file and server.tls_key_file, or server.allow_plaintext = true when a TLS proxy in the same pod terminates TLS`,
    );
  }
  const common = {
    maxHeaderSize: s.max_header_bytes,
    requestTimeout: s.request_timeout_ms + 5000,
    headersTimeout: Math.min(s.request_timeout_ms, 60_000),
    ServerResponse: securedResponse(Boolean(s.tls_cert_file)),
  };
  return new Promise((resolve, reject) => {
    let server: ServerType;
    const onListening = (info: { address: string; port: number }) => resolve({ server, address: info.address, port: info.port, tls: Boolean(s.tls_cert_file) });
    if (s.tls_cert_file && s.tls_key_file) {
      server = serve(
        {
          fetch,
          hostname: host,
          port,
          createServer: createHttpsServer,
          serverOptions: {
            ...common,
            cert: read(s.tls_cert_file, 'tls_cert_file'),
            key: read(s.tls_key_file, 'tls_key_file'),
            minVersion: 'TLSv1.2',
            ...(s.tls_client_ca_file && {
              ca: read(s.tls_client_ca_file, 'tls_client_ca_file'),
              requestCert: true,
              rejectUnauthorized: s.require_client_cert,
            }),
          },
        },
        onListening,
      );
    } else {
      server = serve({ fetch, hostname: host, port, serverOptions: common }, onListening);
    }
    server.once('error', reject);
  });
}
