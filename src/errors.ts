/**
 * Every error nrem throws is an NremError with a stable `code`. Native failures arrive
 * as plain Errors with a `code` set by the addon and are re-thrown as the matching class
 * (see fromNative), keeping the caller's stack.
 */
export class NremError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Wrong argument type or a missing argument. */
export class ArgumentError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ARGUMENT', message, options);
  }
}

/** A tensor of the wrong shape or length. */
export class ShapeError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_SHAPE', message, options);
  }
}

/** A value out of range: NaN, Inf, negative rate, unknown name. */
export class ValueError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_VALUE', message, options);
  }
}

/** A file that cannot be read or parsed (truncated, wrong magic number, bad ONNX). */
export class FormatError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FORMAT', message, options);
  }
}

/** An ONNX graph or model feature nrem does not support. */
export class UnsupportedError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNSUPPORTED', message, options);
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends NremError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options);
  }
}

/** A compute backend (OpenBLAS, CUDA) is unavailable or failed. */
export class BackendError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND', message, options);
  }
}

/** A network used by a running call that would race with this one (or a disposed network's handle). */
export class BusyError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BUSY', message, options);
  }
}

/** A network whose native memory was freed with dispose(). */
export class DisposedError extends NremError {
  constructor(message = 'the network was disposed', options?: { cause?: unknown }) {
    super('ERR_DISPOSED', message, options);
  }
}

/**
 * Not enough memory: an allocation refused before it is attempted (the message names the
 * size needed and the memory available, see src/util/memory.ts), or one that failed in
 * native code (std::bad_alloc).
 */
export class MemoryError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MEMORY', message, options);
  }
}

/** An unexpected failure inside the native core (a C++ exception that is not one of nrem's). */
export class NativeError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NATIVE', message, options);
  }
}

/** A file or folder that cannot be written: a missing or unwritable output folder, a full disk. */
export class OutputError extends NremError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_OUTPUT', message, options);
  }
}

const byCode: Record<string, new (m: string, o?: { cause?: unknown }) => NremError> = {
  ERR_ARGUMENT: ArgumentError,
  ERR_SHAPE: ShapeError,
  ERR_VALUE: ValueError,
  ERR_FORMAT: FormatError,
  ERR_UNSUPPORTED: UnsupportedError,
  ERR_ABORTED: AbortError,
  ERR_BACKEND: BackendError,
  ERR_BUSY: BusyError,
  ERR_DISPOSED: DisposedError,
  ERR_MEMORY: MemoryError,
  ERR_NATIVE: NativeError,
  ERR_OUTPUT: OutputError,
};

/** Runs a synchronous addon call, re-throwing its errors as NremError classes. */
export function nativeSync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

/** Turns an error raised by the addon into the matching NremError class. */
export function fromNative(err: unknown): unknown {
  if (err instanceof NremError) return err;
  if (err instanceof Error) {
    const code = (err as Error & { code?: string }).code;
    const Cls = code ? byCode[code] : undefined;
    if (Cls) return new Cls(err.message, { cause: err });
    if (code) return new NremError(code, err.message, { cause: err });
  }
  return err;
}
