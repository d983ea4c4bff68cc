// The error catalogue of fsdr: every failure a user can meet has a stable code, a one-line
// message that says what is wrong, and a hint that says what to do. Only cli/ maps them to exits.

export interface FsdrErrorOptions {
  hint?: string;
  cause?: unknown;
  exitCode?: number;
}

export class FsdrError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: number;
  constructor(code: string, message: string, opts: FsdrErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** A configuration problem; `path` names the key (e.g. `repositories.primary.bucket`). */
export class ConfigError extends FsdrError {
  constructor(readonly path: string, message: string, opts: FsdrErrorOptions = {}) {
    super('FSDR_CONFIG_INVALID', path ? `${path}: ${message}` : message, { exitCode: 2, ...opts });
  }
}

/** Storage could not be reached or refused an operation (network, permissions, bucket missing). */
export class StorageError extends FsdrError {
  constructor(message: string, opts: FsdrErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'FSDR_STORAGE_ERROR', message, opts);
  }
}

/** An object's bytes fail authentication or checksum, or the object is truncated. */
export class IntegrityError extends FsdrError {
  constructor(readonly key: string, message: string, opts: FsdrErrorOptions = {}) {
    super('FSDR_OBJECT_CORRUPT', `object ${key}: ${message}`, {
      hint: 'the object was damaged or tampered with; restore from a replica repository or take a new backup',
      ...opts,
    });
  }
}

/** A valid object found under a key other than the one it was written under (format 2 binds it). */
export class MisplacedObjectError extends IntegrityError {
  constructor(key: string, readonly writtenAs: string) {
    super(key, `was written as ${writtenAs}: it is a copy of another object`, {
      hint: `the object at ${key} is a copy of ${writtenAs}: the repository was tampered with or mis-copied; restore the object from a replica repository, or restore from a backup that does not need it`,
    });
  }
}

/** The configured master key is not the one the repository or object was written with. */
export class WrongKeyError extends FsdrError {
  constructor(what: string, expectedKeyId: string, actualKeyId: string) {
    super(
      'FSDR_WRONG_KEY',
      `${what} was encrypted with master key ${expectedKeyId}, but the configured key is ${actualKeyId}`,
      { hint: 'set encryption.masterKey to the key this repository was initialised with' },
    );
  }
}

/** A WAL file already archived under the same name holds different bytes: never overwrite it. */
export class WalDuplicateError extends FsdrError {
  constructor(name: string, repo: string) {
    super('FSDR_WAL_DUPLICATE', `WAL file ${name} is already archived in repository ${repo} with different content`, {
      hint: 'two clusters may be archiving into one repository (split brain) or the repository belongs to another cluster; check cluster.pgdata and the repository path',
    });
  }
}

export class RepositoryError extends FsdrError {
  constructor(code: string, message: string, opts: FsdrErrorOptions = {}) {
    super(code, message, opts);
  }
}

export class PostgresError extends FsdrError {
  constructor(message: string, opts: FsdrErrorOptions = {}) {
    super('FSDR_POSTGRES_ERROR', message, opts);
  }
}

/** A PostgreSQL session a running command holds was ended under it (terminated, restart, network). */
export class SessionLostError extends FsdrError {
  constructor(session: string, pid: number | undefined, reason: string) {
    super('FSDR_PG_SESSION_LOST', `the PostgreSQL session "${session}"${pid ? ` (backend pid ${pid})` : ''} was lost: ${reason.split('\n')[0]}`, {
      hint: 'the command stopped and recorded nothing as complete; the server log says why the session ended (pg_terminate_backend, a restart, the network); run it again',
    });
  }
}

/** Turn anything thrown into a one-line message for the terminal. */
export function describeError(err: unknown): string {
  if (err instanceof FsdrError) return err.hint ? `${err.message} (hint: ${err.hint})` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
