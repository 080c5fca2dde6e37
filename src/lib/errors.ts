/** @module lib/errors: named errors that the HTTP layer maps to one machine-readable 4xx shape. */

export type ErrorCode =
  | "invalid_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "incomparable"
  /** The deployment lacks a secret or holds a malformed one (a 500: the caller cannot fix it). */
  | "webhook_misconfigured";

const STATUS: Record<ErrorCode, 400 | 401 | 403 | 404 | 409 | 413 | 500> = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  incomparable: 409,
  webhook_misconfigured: 500,
};

/** An error the API reports to the caller as `{ error: { code, message, details } }`. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
  get status() {
    return STATUS[this.code];
  }
}

export const notFound = (what: string, id: string) => new ApiError("not_found", `${what} ${id} not found`);
