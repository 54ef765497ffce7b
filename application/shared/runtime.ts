/**
 * Time and ids come in, never reached for: one `Runtime` is built by the entry point
 * (`systemRuntime` in infrastructure/shared/runtime.ts) and passed to every use case, projection
 * and router that needs either. Tests pass a manual clock and a counter, so no test sleeps to move
 * time forward.
 */
export type Clock = () => Date;
export type NewId = () => string;
export type Runtime = { readonly clock: Clock; readonly newId: NewId };
