import { Router } from 'express';
import { z } from 'zod';
import { administerAccount, createAccount, type AccountDeps } from '#application/identity/accounts.js';
import type { IdentityDeps } from '#application/identity/login.js';
import { ROLES } from '#domain/identity/events.js';
import { PASSWORD_MAX_LENGTH, USERNAME_MAX_LENGTH } from '#domain/identity/rules.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { authOf, requireAuth } from './authenticate.js';
import { rejectOddText } from '../shared/text.js';

// Shape only: the rules themselves (length, characters, roles) are domain/identity/rules.ts's.
const Role = z.enum(ROLES);
export const CreateBody = z
  .object({
    username: z.string().min(1).max(USERNAME_MAX_LENGTH),
    password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
    role: Role,
  })
  .strict();
export const ResetBody = z.object({ password: z.string().min(1).max(PASSWORD_MAX_LENGTH) }).strict();
export const RoleBody = z.object({ role: Role }).strict();
/** no body (or {}): every lock of the name; `source`: only that address's */
export const UnlockBody = z
  .object({ source: z.string().min(1).max(64).optional() })
  .strict()
  .optional();
const AccountId = z.uuid();

export type UsersRoutesOptions = {
  identity: IdentityDeps & AccountDeps;
  /** read side: the accounts read model */
  listAccounts: () => Promise<unknown[]>;
  /** read side: the login locks in force (projections/identity/loginLocks.ts) */
  listLocks: () => Promise<unknown[]>;
};

/** /api/users: admins create, list, disable, enable, unlock and reset users. Every change is an event. */
export const usersRoutes = ({ identity, listAccounts, listLocks }: UsersRoutesOptions): Router => {
  const router = Router();
  router.use('/api/users', rejectOddText());
  const admin = requireAuth(identity, 'admin');

  router.get('/api/users', admin, async (_req, res) => {
    res.json({ users: await listAccounts() });
  });

  router.get('/api/users/locks', admin, async (_req, res) => {
    res.json({ locks: await listLocks() });
  });

  router.post('/api/users', admin, async (req, res) => {
    const body = parseInput(CreateBody, req.body);
    const created = await createAccount(identity, body, commandContext(req, authOf(req).accountId));
    res.status(201).json({ id: created.accountId, username: created.username, role: created.role });
  });

  const action = (name: 'disable' | 'enable') =>
    router.post(`/api/users/:id/${name}`, admin, async (req, res) => {
      const id = parseInput(AccountId, req.params.id, 'account id');
      const result = await administerAccount(identity, id, { type: name }, commandContext(req, authOf(req).accountId));
      res.json({ id, changed: result.changed });
    });
  action('disable');
  action('enable');

  router.post('/api/users/:id/unlock', admin, async (req, res) => {
    const id = parseInput(AccountId, req.params.id, 'account id');
    const body = parseInput(UnlockBody, req.body);
    const result = await administerAccount(
      identity,
      id,
      { type: 'unlock', source: body?.source ?? null },
      commandContext(req, authOf(req).accountId),
    );
    res.json({ id, changed: result.changed });
  });

  router.post('/api/users/:id/reset-password', admin, async (req, res) => {
    const id = parseInput(AccountId, req.params.id, 'account id');
    const body = parseInput(ResetBody, req.body);
    const result = await administerAccount(
      identity,
      id,
      { type: 'reset-password', password: body.password },
      commandContext(req, authOf(req).accountId),
    );
    res.json({ id, changed: result.changed });
  });

  router.patch('/api/users/:id', admin, async (req, res) => {
    const id = parseInput(AccountId, req.params.id, 'account id');
    const body = parseInput(RoleBody, req.body);
    const result = await administerAccount(
      identity,
      id,
      { type: 'change-role', role: body.role },
      commandContext(req, authOf(req).accountId),
    );
    res.json({ id, changed: result.changed });
  });

  return router;
};
