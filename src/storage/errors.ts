/**
 * The storage layer's own failure: the database could not do what was asked (gone, refused a write,
 * timed out), and the transaction, if any, rolled back whole. The executor and the HTTP error renderer
 * turn it into the domain's `unavailable` (503); storage never imports the domain's errors.
 */
export class StorageUnavailable extends Error {
  constructor(cause: unknown) {
    super('the database could not complete the request; nothing was changed');
    this.name = 'StorageUnavailable';
    this.cause = cause;
  }
}
