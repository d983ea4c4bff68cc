// Typed harness errors: a stable code, a message saying what failed, and a hint saying what to do.
export class HarnessError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(hint ? `${message} (hint: ${hint})` : message, options);
    this.name = 'HarnessError';
  }
}
