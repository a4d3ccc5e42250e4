import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger';
import { redact } from '../../src/logging/redact';

describe('log lines never carry a credential or a value', () => {
  it('redacts secret-named fields at any depth, whatever their case, and keeps the rest', () => {
    for (let round = 0; round < 2; round++) {
      // Twice: the second round is answered from the per-name cache.
      expect(
        redact({
          request_id: 'r1',
          Authorization: 'Bearer abc',
          nested: { 'X-Vault-Key': 'k', api_key: 'k', ok: 1, deeper: { encrypted_value: 'v', token: 't', keep: true } },
          list: ['password'],
        }),
      ).toEqual({
        request_id: 'r1',
        Authorization: '[redacted]',
        nested: { 'X-Vault-Key': '[redacted]', api_key: '[redacted]', ok: 1, deeper: { encrypted_value: '[redacted]', token: '[redacted]', keep: true } },
        list: ['password'],
      });
    }
  });

  it('copies only own fields', () => {
    const inherited = Object.create({ secret: 'from the prototype' }) as Record<string, unknown>;
    inherited.status = 200;
    expect(redact(inherited)).toEqual({ status: 200 });
  });

  it('a logger writes one JSON line per call, with its base fields, redacted, and respects its level', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', write: (l) => lines.push(l), base: { component: 'test', password: 'p' } });
    logger.debug('hidden');
    logger.info('shown', { key: 'k', status: 200 });
    logger.child({ token: 't' }).warn('child');
    logger.error('bare');
    expect(lines).toHaveLength(3);
    const [shown, child, bare] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(shown).toMatchObject({ level: 'info', msg: 'shown', component: 'test', password: '[redacted]', key: '[redacted]', status: 200 });
    expect(child).toMatchObject({ level: 'warn', msg: 'child', component: 'test', password: '[redacted]', token: '[redacted]' });
    expect(bare).toMatchObject({ level: 'error', msg: 'bare', component: 'test', password: '[redacted]' });
    expect(typeof shown!.time).toBe('string');
  });
});
