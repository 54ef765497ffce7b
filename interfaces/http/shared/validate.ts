import type { z } from 'zod';
import { ValidationError } from '#application/shared/errors.js';

/** Validates input at the edge; a failure is a 400 listing each field and its problem. */
export const parseInput = <S extends z.ZodType>(schema: S, input: unknown, what = 'request body'): z.infer<S> => {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => ({
      path: issue.path.join('.') || '(root)',
      problem: issue.message,
    }));
    throw new ValidationError(`The ${what} is invalid: ${issues.map((i) => `${i.path}: ${i.problem}`).join('; ')}`, {
      issues,
    });
  }
  return result.data;
};
