export * from './vault-schema';
export * from './entries';
export * from './retention-policies';
export * from './access-policies';
export * from './access-log';
export * from './purge-log';
export * from './sweep-runs';
export * from './purge-receipts';
